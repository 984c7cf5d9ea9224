package session

import (
	"errors"
	"fmt"
	"time"
)

// Config is the domain's part of the config file.
type Config struct {
	// MACHashKey keys the pseudonyms that stand for MACs (and client IP
	// addresses) in Redis and logs. At least 16 bytes; keep it secret and
	// stable.
	MACHashKey string `yaml:"mac_hash_key"`
	// TermsVersion is the version of the terms of use; a remembered device
	// that accepted another version sees the terms again.
	TermsVersion string `yaml:"terms_version"`
	// RememberFor is how long a device that accepted the terms may log in
	// by MAC authentication without seeing the portal. Default 24h.
	RememberFor time.Duration `yaml:"remember_for"`
	// GrantTTL is how long the credentials handed to the NAS stay valid.
	// Default 15m.
	GrantTTL time.Duration `yaml:"grant_ttl"`
	// Retention is how long usage history and closed sessions are kept
	// after their window or session ended. Default 7 days.
	Retention time.Duration `yaml:"retention"`
	// TimeZone is where days, weeks and months start and end. Default
	// Europe/Berlin.
	TimeZone string `yaml:"time_zone"`

	// Policy is the default policy: it applies wherever none of Policies
	// matches. The config file has it at the top level as "policy".
	Policy Policy `yaml:"-"`
	// Policies are chosen by NAS, SSID and location group, the first that
	// matches; the config file has them at the top level as "policies".
	Policies []Policy `yaml:"-"`
	// NASGroups maps the name of every NAS to its location group (see
	// NASGroups), for policies that match on groups. When it is nil, the
	// NAS and group names in policies are not checked.
	NASGroups map[string]string `yaml:"-"`
}

// Defaults for the optional settings.
const (
	DefaultRememberFor     = 24 * time.Hour
	DefaultGrantTTL        = 15 * time.Minute
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultTimeZone        = "Europe/Berlin"
	DefaultInterimInterval = 5 * time.Minute
)

// withDefaults returns c with unset optional settings filled in.
func (c Config) withDefaults() Config {
	if c.RememberFor == 0 {
		c.RememberFor = DefaultRememberFor
	}
	if c.GrantTTL == 0 {
		c.GrantTTL = DefaultGrantTTL
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	c.Policy = c.Policy.withDefaults()
	if c.Policy.Name == "" {
		c.Policy.Name = DefaultPolicyName
	}
	ps := make([]Policy, len(c.Policies))
	for i, p := range c.Policies {
		ps[i] = p.withDefaults()
	}
	c.Policies = ps
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.MACHashKey) < 16 {
		add("devices.mac_hash_key must be at least 16 characters")
	}
	if c.TermsVersion == "" {
		add("devices.terms_version is required")
	}
	if c.RememberFor < time.Minute {
		add("devices.remember_for %v is below 1m", c.RememberFor)
	}
	if c.GrantTTL < 30*time.Second {
		add("devices.grant_ttl %v is below 30s", c.GrantTTL)
	}
	if c.Retention < 24*time.Hour {
		add("devices.retention %v is below 24h", c.Retention)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		add("devices.time_zone %q: %v", c.TimeZone, err)
	}
	errs = append(errs, validatePolicies(c.Policy, c.Policies, c.NASGroups)...)
	return errors.Join(errs...)
}
