package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

// TestDeployConfigs loads every config in deploy/, as an operator would
// with -check-config.
func TestDeployConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d configs in deploy/, want demo.yaml and hotspot.example.yaml", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"-config", f, "-check-config"}, &out, &errOut, noEnv); code != 0 {
				t.Errorf("hotspotd -check-config %s = %d, want 0\n%s", f, code, errOut.String())
			}
		})
	}
}

func TestDemoContract(t *testing.T) {
	cfg, err := loadConfig("../../deploy/demo.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"portal.listen", cfg.Portal.Listen, "127.0.0.1:8080"},
		{"admin.listen", cfg.Admin.Listen, "127.0.0.1:8081"},
		{"radius.auth_listen", cfg.RADIUS.AuthListen, "127.0.0.1:1812"},
		{"radius.acct_listen", cfg.RADIUS.AcctListen, "127.0.0.1:1813"},
		{"redis.url", cfg.Redis.URL, ""},
		{"nas[0].secret", cfg.NAS[0].Secret, "testing123"},
		{"nas[0].kind", string(cfg.NAS[0].Kind), "coovachilli"},
		{"nas[0].uamsecret", cfg.NAS[0].UAMSecret, "uamsecret"},
		{"nas[0].networks", cfg.NAS[0].Networks[0].String(), "127.0.0.0/8"},
		{"nas[0].coa_port", cfg.NAS[0].CoAPort, 3799},
		{"policy.data_per_day", int64(cfg.Policy.DataPerDay), int64(100 << 20)},
		{"policy.session_timeout", cfg.Policy.SessionTimeout.Seconds(), 3600.0},
		{"policy.idle_timeout", cfg.Policy.IdleTimeout.Seconds(), 600.0},
		{"policy.interim_interval", cfg.Policy.InterimInterval.Seconds(), 300.0},
		{"policy.bandwidth_down", int64(cfg.Policy.BandwidthDown), int64(10e6)},
		{"policy.bandwidth_up", int64(cfg.Policy.BandwidthUp), int64(2e6)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("demo %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	env := func(k string) string {
		if k == "REDIS_URL" {
			return "redis+sentinel://s1:26379,s2:26379/hotspot/0"
		}
		return ""
	}
	cfg, err = loadConfig("../../deploy/demo.yaml", env)
	if err != nil || cfg.Redis.URL != "redis+sentinel://s1:26379,s2:26379/hotspot/0" {
		t.Errorf("REDIS_URL override: redis.url = %q, %v", cfg.Redis.URL, err)
	}
}

// TestInvalidConfigs: each broken file is refused with every problem named.
func TestInvalidConfigs(t *testing.T) {
	demo, err := os.ReadFile("../../deploy/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) string {
		if !strings.Contains(string(demo), old) {
			t.Fatalf("demo.yaml has no %q", old)
		}
		return strings.Replace(string(demo), old, new, 1)
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{"empty"}},
		{"not yaml", "nas: [", []string{"config:"}},
		{"unknown key", replace("log:", "colour: blue\nlog:"), []string{"colour"}},
		{"short secret", replace("secret: testing123", "secret: abc"), []string{"secret must be at least 8"}},
		{"bad unit", replace("data_per_day: 100MiB", "data_per_day: 100"), []string{"unit"}},
		{"bad rate", replace("bandwidth_down: 10Mbit/s", "bandwidth_down: 10MB/s"), []string{"unit"}},
		{"bad kind", replace("kind: coovachilli", "kind: chilli"), []string{"kind"}},
		{"bad network", replace("[127.0.0.0/8]", "[127.0.0.300/8]"), []string{"127.0.0.300"}},
		{"bad redis", replace(`url: ""`, `url: "mysql://x"`), []string{"redis.url"}},
		{"several at once", replace("secret: testing123", "secret: abc\n    bogus: 1"), []string{"bogus", "secret must be at least 8"}},
		{"several validation", strings.Replace(replace("secret: testing123", "secret: abc"), "time_zone: Europe/Berlin", "time_zone: Mars/Olympus", 1), []string{"secret must be at least 8", "Mars/Olympus"}},
		{"no form key", replace("form_key: demo-form-key-not-secret", "form_key: x"), []string{"portal.form_key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			var out, errOut bytes.Buffer
			code := run([]string{"-config", path, "-check-config"}, &out, &errOut, noEnv)
			if code == 0 {
				t.Fatalf("hotspotd -check-config on %s = 0, want failure", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("-check-config output lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}
