package portal

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{FormKey: testFormKey}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error, one per problem; none: valid
	}{
		{"minimal", func(*Config) {}, nil},
		{"full", func(c *Config) {
			c.Listen = "127.0.0.1:8081"
			c.PublicURL = "https://portal.example.org/"
			c.TrustedProxies = []string{"10.0.0.1", "192.168.0.0/16", "2001:db8::/32"}
			c.ImprintURL = "https://www.example.org/impressum"
			c.PrivacyURL = "https://www.example.org/datenschutz"
			c.SiteName = "Leipzig Free WiFi"
		}, nil},
		{"short form key", func(c *Config) { c.FormKey = "0123456789abcde" },
			[]string{"portal.form_key must be at least 16 characters"}},
		{"no form key", func(c *Config) { c.FormKey = "" }, []string{"portal.form_key"}},
		{"relative public_url", func(c *Config) { c.PublicURL = "/portal" }, []string{"portal.public_url"}},
		{"ftp public_url", func(c *Config) { c.PublicURL = "ftp://portal.example.org/" }, []string{"portal.public_url"}},
		{"public_url with query", func(c *Config) { c.PublicURL = "https://portal.example.org/?a=1" }, []string{"portal.public_url"}},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.1", "proxy.local"} },
			[]string{"portal.trusted_proxies[1]"}},
		{"bad imprint", func(c *Config) { c.ImprintURL = "javascript:alert(1)" }, []string{"portal.imprint_url"}},
		{"bad privacy", func(c *Config) { c.PrivacyURL = "datenschutz.html" }, []string{"portal.privacy_url"}},
		{"bad listen", func(c *Config) { c.Listen = "8080" }, []string{"portal.listen"}},
		{"control in site name", func(c *Config) { c.SiteName = "Free\nWiFi" }, []string{"portal.site_name"}},
		{"branding", func(c *Config) {
			c.Logo = "stadt.png"
			c.Colors = Colors{Accent: "#0b5394", AccentDark: "#fff"}
			c.FooterLinks = []FooterLink{{URL: "https://example.org/a11y", Label: map[string]string{"de": "Barrierefreiheit", "en": "Accessibility"}}}
			c.TermsDir, c.OverridesDir = ".", "."
		}, nil},
		{"bad colour", func(c *Config) { c.Colors.Accent = "blue" }, []string{"portal.colors.accent"}},
		{"pale accent", func(c *Config) { c.Colors.Accent = "#ffcc00" }, []string{"portal.colors.accent #ffcc00 has a contrast of 1.51:1"}},
		{"dark accent too dark", func(c *Config) { c.Colors.AccentDark = "#0b5394" },
			[]string{"portal.colors.accent_dark #0b5394 has a contrast", "portal.colors.accent_dark #0b5394 has a contrast"}},
		{"logo path", func(c *Config) { c.Logo = "../logo.svg" }, []string{"portal.logo"}},
		{"logo not an image", func(c *Config) { c.Logo = "style.css" }, []string{"portal.logo"}},
		{"footer link", func(c *Config) {
			c.FooterLinks = []FooterLink{{URL: "javascript:x", Label: map[string]string{"en": "x", "english": "y"}}}
		}, []string{"portal.footer_links[0].url", "portal.footer_links[0].label needs a \"de\"", "portal.footer_links[0].label: \"english\""}},
		{"missing overrides", func(c *Config) { c.OverridesDir = "/nonexistent/overrides" }, []string{"portal.overrides_dir"}},
		{"overrides not a dir", func(c *Config) { c.OverridesDir = "config_test.go" }, []string{"portal.overrides_dir: config_test.go is not a directory"}},
		{"everything at once", func(c *Config) {
			c.FormKey = "x"
			c.PublicURL = "nope"
			c.ImprintURL = "nope"
		}, []string{"portal.form_key", "portal.public_url", "portal.imprint_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%s) = nil, want %q", tt.name, tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate(%s) = %d problems %q, want %d", tt.name, len(lines), lines, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%s) = %q, want it to mention %q", tt.name, err, w)
				}
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "portal.") {
					t.Errorf("Validate(%s): problem %q does not start with portal.", tt.name, l)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Listen != ":8080" || c.SiteName != "Free WiFi" || c.Logo != "logo.svg" || c.Retention != 7*24*time.Hour || c.TimeZone != "Europe/Berlin" {
		t.Errorf("Config{}.withDefaults() = %+v, want listen :8080, site Free WiFi, logo logo.svg, retention 168h, Europe/Berlin", c)
	}
}
