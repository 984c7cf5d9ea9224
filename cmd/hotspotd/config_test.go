package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{"policy.window", string(cfg.Policy.Window), "day"},
		{"policy.data", int64(cfg.Policy.Data), int64(100 << 20)},
		{"policy.over_quota", string(cfg.Policy.OverQuota), "disconnect"},
		{"policy.online_time", cfg.Policy.OnlineTime, time.Duration(0)},
		{"policies", len(cfg.Policies), 0},
		{"devices.time_zone", cfg.Devices.TimeZone, "Europe/Berlin"},
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
		{"bad unit", replace("data: 100MiB", "data: 100"), []string{"unit"}},
		{"old policy key", replace("data: 100MiB", "data_per_day: 100MiB"), []string{"data_per_day"}},
		{"no over_quota", replace("over_quota: disconnect", "over_quota: \"\""), []string{"policy.over_quota is required"}},
		{"bad over_quota", replace("over_quota: disconnect", "over_quota: slow"), []string{`policy.over_quota "slow"`}},
		{"throttle without rate", replace("over_quota: disconnect", "over_quota: throttle"), []string{"throttle needs throttle_down or throttle_up"}},
		{"throttle not slower", replace("over_quota: disconnect", "over_quota: throttle\n  throttle_down: 20Mbit/s"), []string{"throttle_down 20Mbit/s is not below bandwidth_down 10Mbit/s"}},
		{"throttle rate with disconnect", replace("over_quota: disconnect", "over_quota: disconnect\n  throttle_up: 1Mbit/s"), []string{"need over_quota throttle"}},
		{"bad window", replace("window: day", "window: fortnight"), []string{`policy.window "fortnight"`}},
		{"short online time", replace("window: day", "window: day\n  online_time: 30s"), []string{"policy.online_time 30s is below 1m"}},
		{"default with match", replace("window: day", "window: day\n  match: {nas: [demo]}"), []string{"policy.match"}},
		{"policies at once", string(demo) + `
policies:
  - match: {nas: [nowhere], group: [nogroup], ssid: [Free]}
    data: 1GiB
  - name: wide
    window: week
  - name: wide
    match: {ssid: [x]}
    window: year
`, []string{"policies[0].name is required", `no NAS is called "nowhere"`, `no NAS is in group "nogroup"`,
			"policies[0].over_quota is required", "policies[1].match is required", `policies[2].name "wide" is also the name of policies[1]`,
			`policies[2].window "year"`}},
		{"bad group", replace("kind: coovachilli", "kind: coovachilli\n    group: \"a b\""), []string{`group "a b"`}},
		{"bad rate", replace("bandwidth_down: 10Mbit/s", "bandwidth_down: 10MB/s"), []string{"unit"}},
		{"bad kind", replace("kind: coovachilli", "kind: chilli"), []string{"kind"}},
		{"bad network", replace("[127.0.0.0/8]", "[127.0.0.300/8]"), []string{"127.0.0.300"}},
		{"bad redis", replace(`url: ""`, `url: "mysql://x"`), []string{"redis.url"}},
		{"too many pipelines", replace(`url: ""`, `url: ""
  pipelines: 9`), []string{"redis.pipelines 9 is not between 1 and 8"}},
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

// TestSystemdUnit: deploy/hotspotd.service starts the binary on the config
// path the example config names, and lets it write where that config puts
// the spool (everything else is read-only under ProtectSystem=strict).
func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/hotspotd.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = v
		}
	}
	want := map[string]string{
		"ExecStart":      "/usr/local/bin/hotspotd -config /etc/hotspot/hotspot.yaml",
		"ExecStartPre":   "/usr/local/bin/hotspotd -config /etc/hotspot/hotspot.yaml -check-config",
		"User":           "hotspot",
		"StateDirectory": "hotspot",
		"ProtectSystem":  "strict",
		"UMask":          "0077",
	}
	for k, v := range want {
		if unit[k] != v {
			t.Errorf("hotspotd.service: %s=%q, want %q", k, unit[k], v)
		}
	}
	example, err := os.ReadFile("../../deploy/hotspot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "Copy to /etc/hotspot/hotspot.yaml") {
		t.Error("hotspot.example.yaml does not say to copy it where the unit reads it")
	}
	cfg, err := parseConfig(example, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if dir := "/var/lib/" + unit["StateDirectory"] + "/"; !strings.HasPrefix(cfg.Redis.Spool, dir) {
		t.Errorf("example redis.spool %q is outside the unit's StateDirectory %s, which is all it may write", cfg.Redis.Spool, dir)
	}
}
