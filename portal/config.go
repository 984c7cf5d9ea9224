package portal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
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
	// ImprintURL and PrivacyURL are optional footer links (Impressum,
	// Datenschutzerklärung).
	ImprintURL string `yaml:"imprint_url"`
	PrivacyURL string `yaml:"privacy_url"`
	// SiteName is shown in every page's header and title. Default
	// "Free WiFi".
	SiteName string `yaml:"site_name"`
}

// Defaults for the optional settings.
const (
	DefaultListen   = ":8080"
	DefaultSiteName = "Free WiFi"
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
	return errors.Join(errs...)
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
