package session

import (
	"errors"
	"fmt"
	"time"
)

// Policy is what a device may use: the limits put into every Access-Accept.
type Policy struct {
	// DataPerDay is the data a device may transfer (both directions
	// together) per day, local time. 0 means unlimited.
	DataPerDay ByteSize `yaml:"data_per_day"`
	// SessionTimeout ends a session after this long (Session-Timeout).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// IdleTimeout ends a session after this long without traffic.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// InterimInterval is how often the NAS sends Interim-Updates.
	InterimInterval time.Duration `yaml:"interim_interval"`
	// BandwidthDown and BandwidthUp limit the device's rate, seen from the
	// device: down is what it receives. 0 means unlimited.
	BandwidthDown BitRate `yaml:"bandwidth_down"`
	BandwidthUp   BitRate `yaml:"bandwidth_up"`
}

// Config is the domain's part of the config file.
type Config struct {
	// MACHashKey keys the pseudonyms that stand for MACs in Redis and logs.
	// At least 16 bytes; keep it secret and stable.
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
	// Retention is how long usage history and closed sessions are kept.
	// Default 7 days.
	Retention time.Duration `yaml:"retention"`
	// TimeZone is where a day starts and ends. Default Europe/Berlin.
	TimeZone string `yaml:"time_zone"`
	// Policy is the limits every device gets; the config file has it at the
	// top level, beside devices.
	Policy Policy `yaml:"-"`
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
	if c.Policy.InterimInterval == 0 {
		c.Policy.InterimInterval = DefaultInterimInterval
	}
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
		add("devices.retention %v is below 24h (a day's usage must outlive the day)", c.Retention)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		add("devices.time_zone %q: %v", c.TimeZone, err)
	}
	p := c.Policy
	if p.DataPerDay < 0 {
		add("policy.data_per_day must not be negative")
	}
	if p.SessionTimeout < 0 || p.IdleTimeout < 0 {
		add("policy timeouts must not be negative")
	}
	if p.InterimInterval < time.Minute {
		add("policy.interim_interval %v is below 1m", p.InterimInterval)
	}
	if p.BandwidthDown < 0 || p.BandwidthUp < 0 {
		add("policy bandwidths must not be negative")
	}
	return errors.Join(errs...)
}
