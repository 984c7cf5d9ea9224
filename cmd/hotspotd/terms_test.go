package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTermsVersion: the terms' VERSION file is the version the session
// store binds grants to; devices.terms_version may only repeat it.
func TestTermsVersion(t *testing.T) {
	demo, err := os.ReadFile("../../deploy/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"VERSION": "2027-01\n", "de.md": "- Regeln\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	withPortal := func(extra string) string {
		return strings.Replace(string(demo), "portal:\n", "portal:\n"+extra, 1)
	}
	withDevices := func(extra string) string {
		return strings.Replace(string(demo), "devices:\n", "devices:\n"+extra, 1)
	}
	tests := []struct {
		name, yaml, want, err string
	}{
		{"embedded terms", string(demo), "2026-11", ""},
		{"terms_dir", withPortal("  terms_dir: " + dir + "\n"), "2027-01", ""},
		{"terms_version repeats it", withDevices("  terms_version: \"2026-11\"\n"), "2026-11", ""},
		{"terms_version differs", withDevices("  terms_version: \"2025-01\"\n"), "", `devices.terms_version "2025-01" differs from the terms' VERSION "2026-11"`},
		{"terms_dir missing", withPortal("  terms_dir: " + filepath.Join(dir, "nope") + "\n"), "", "portal.terms_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig([]byte(tt.yaml), noEnv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseConfig(%s) = %v, want an error with %q", tt.name, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig(%s) = %v", tt.name, err)
			}
			if cfg.Devices.TermsVersion != tt.want || cfg.Portal.Terms == nil || cfg.Portal.Terms.Version() != tt.want {
				t.Errorf("parseConfig(%s): devices terms version %q, portal terms %v; want %q for both",
					tt.name, cfg.Devices.TermsVersion, cfg.Portal.Terms, tt.want)
			}
			if cfg.Portal.Retention != cfg.Devices.Retention || cfg.Portal.TimeZone != cfg.Devices.TimeZone {
				t.Errorf("parseConfig(%s): portal retention/time zone %v/%q, want devices' %v/%q", tt.name,
					cfg.Portal.Retention, cfg.Portal.TimeZone, cfg.Devices.Retention, cfg.Devices.TimeZone)
			}
		})
	}
}
