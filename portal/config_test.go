package portal

import (
	"strings"
	"testing"
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
	if c.Listen != ":8080" || c.SiteName != "Free WiFi" {
		t.Errorf("Config{}.withDefaults() = listen %q, site %q, want :8080, Free WiFi", c.Listen, c.SiteName)
	}
}
