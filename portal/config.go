package portal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Config is the portal's part of the config file.
type Config struct {
	// Listen is the address of the portal's HTTP listener. Default ":8080".
	Listen string `yaml:"listen"`
	// PublicURL is the portal's address as the NAS knows it (CoovaChilli's
	// uamserver), e.g. "https://portal.example.org/". When set, the md check
	// uses its scheme and host instead of the request's, which is what a
	// portal behind a TLS-terminating proxy needs.
	PublicURL string `yaml:"public_url"`
	// FormKey keys the HMAC token of the accept form. At least 16
	// characters; every instance behind one load balancer needs the same.
	FormKey string `yaml:"form_key"`
	// TrustedProxies are the addresses or prefixes whose X-Forwarded-For
	// is believed. Default none: the client is the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Captive is the RFC 8908 Captive Portal API (captive.go).
	Captive CaptiveConfig `yaml:"captive_api"`
	// ImprintURL and PrivacyURL are the footer links every page shows
	// (Impressum, Datenschutzerklärung).
	ImprintURL string `yaml:"imprint_url"`
	PrivacyURL string `yaml:"privacy_url"`
	// SiteName is the city's or network's name, shown in every page's
	// header and title. Default "Free WiFi".
	SiteName string `yaml:"site_name"`
	// Logo is the file under static/ shown beside the site name (an
	// override can add it). Default "logo.svg".
	Logo string `yaml:"logo"`
	// Colors are the brand colours.
	Colors Colors `yaml:"colors"`
	// FooterLinks are extra footer links.
	FooterLinks []FooterLink `yaml:"footer_links"`
	// TermsDir is the operator's terms of use: VERSION and one file per
	// language (see Terms). Empty: the embedded defaults.
	TermsDir string `yaml:"terms_dir"`
	// OverridesDir holds files that replace the embedded templates/,
	// static/ and i18n/ files of the same name, or add to them.
	OverridesDir string `yaml:"overrides_dir"`

	// Terms are the loaded terms; the daemon loads them once from TermsDir
	// (New does when nil) and gives their version to the session store.
	Terms *Terms `yaml:"-"`
	// Retention is how long usage data are kept, as the privacy summary
	// says; the daemon copies devices.retention. Default 7 days.
	Retention time.Duration `yaml:"-"`
	// TimeZone is where quota windows end, for showing when they reset;
	// the daemon copies devices.time_zone. Default Europe/Berlin.
	TimeZone string `yaml:"-"`
}

// Defaults for the optional settings.
const (
	DefaultListen    = ":8080"
	DefaultSiteName  = "Free WiFi"
	DefaultLogo      = "logo.svg"
	DefaultRetention = 7 * 24 * time.Hour
	DefaultTimeZone  = "Europe/Berlin"
	// MinFormKeyLen is the shortest form key we accept.
	MinFormKeyLen = 16
)

// withDefaults returns c with unset optional settings filled in.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if strings.TrimSpace(c.SiteName) == "" {
		c.SiteName = DefaultSiteName
	}
	if c.Logo == "" {
		c.Logo = DefaultLogo
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("portal.listen %q is not host:port: %v", c.Listen, err)
	}
	if len(c.FormKey) < MinFormKeyLen {
		add("portal.form_key must be at least %d characters", MinFormKeyLen)
	}
	if c.PublicURL != "" {
		if _, err := parsePublicURL(c.PublicURL); err != nil {
			add("portal.public_url: %v", err)
		}
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			add("portal.trusted_proxies[%d] %q is neither an IP address nor a prefix", i, p)
		}
	}
	if c.ImprintURL != "" && !isWebURL(c.ImprintURL) {
		add("portal.imprint_url %q is not an absolute http or https URL", c.ImprintURL)
	}
	if c.PrivacyURL != "" && !isWebURL(c.PrivacyURL) {
		add("portal.privacy_url %q is not an absolute http or https URL", c.PrivacyURL)
	}
	if len(c.SiteName) > 100 || strings.ContainsFunc(c.SiteName, isControl) {
		add("portal.site_name must be at most 100 characters without control characters")
	}
	errs = append(errs, c.Captive.validate()...)
	if strings.ContainsAny(c.Logo, `/\`) || strings.HasPrefix(c.Logo, ".") || staticTypes[pathExt(c.Logo)] == "" || pathExt(c.Logo) == ".css" {
		add("portal.logo %q must be the name of an image file in static/ (.svg, .png, .jpg, .webp)", c.Logo)
	}
	errs = append(errs, c.Colors.validate()...)
	for i, l := range c.FooterLinks {
		if !isWebURL(l.URL) {
			add("portal.footer_links[%d].url %q is not an absolute http or https URL", i, l.URL)
		}
		if strings.TrimSpace(l.Label[defaultLang]) == "" {
			add("portal.footer_links[%d].label needs a %q text", i, defaultLang)
		}
		for code, text := range l.Label {
			if t, err := language.Parse(code); err != nil || t.String() != code {
				add("portal.footer_links[%d].label: %q is not a canonical language tag", i, code)
			}
			if len(text) > 100 || strings.ContainsFunc(text, isControl) {
				add("portal.footer_links[%d].label.%s must be at most 100 characters without control characters", i, code)
			}
		}
	}
	// terms_dir is checked by LoadTerms, which reads it.
	if c.OverridesDir != "" {
		if st, err := os.Stat(c.OverridesDir); err != nil {
			add("portal.overrides_dir: %v", err)
		} else if !st.IsDir() {
			add("portal.overrides_dir: %s is not a directory", c.OverridesDir)
		}
	}
	return errors.Join(errs...)
}

func pathExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return strings.ToLower(name[i:])
	}
	return ""
}

// parsePublicURL accepts an absolute http or https URL without user,
// query or fragment; only its scheme and host are used.
func parsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL without user, query or fragment", s)
	}
	return u, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
