package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"hotspot/portal"
	"hotspot/radius"
	"hotspot/session"
)

// Config is the whole config file. Each package owns and validates its part.
type Config struct {
	Log     LogConfig          `yaml:"log"`
	Redis   RedisConfig        `yaml:"redis"`
	RADIUS  radius.Config      `yaml:"radius"`
	Portal  portal.Config      `yaml:"portal"`
	Admin   portal.AdminConfig `yaml:"admin"`
	NAS     []session.NAS      `yaml:"nas"`
	Devices session.Config     `yaml:"devices"`
	Policy  session.Policy     `yaml:"policy"`
	// Policies override Policy by NAS, SSID and location group.
	Policies []session.Policy `yaml:"policies"`
}

// LogConfig sets up the logger.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or text
}

// RedisConfig says where the state lives.
type RedisConfig struct {
	// URL of the Redis server, Sentinel group or Cluster (see
	// session.RedisOptions). Empty means the embedded in-process store,
	// which loses everything on restart: for demos only. The REDIS_URL
	// environment variable overrides it.
	URL string `yaml:"url"`
	// PoolSize is the number of connections per node; default 10 per CPU.
	PoolSize int `yaml:"pool_size"`
	// Timeout bounds each Redis command. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// Pipelines is how many clients, each with its own connections,
	// take turns carrying the RADIUS requests' commands to Redis in
	// batches (see session.NewStore). Default 2; 1 to 8.
	Pipelines int `yaml:"pipelines"`
	// Spool is a directory where accounting records are kept while Redis
	// cannot be reached (created, mode 0700, when missing): the NAS gets
	// its answer once the record is on disk, and the record is applied
	// when Redis is back (see session.Spool). Empty: no spool, and such
	// records get no answer (the NAS retries, then gives up on them).
	Spool string `yaml:"spool"`
	// SpoolMaxSize caps the spool's files together. Default 256 MiB.
	SpoolMaxSize session.ByteSize `yaml:"spool_max_size"`
}

// defaultSpoolMaxSize is the spool's default cap: about 700,000 records
// of some 380 bytes.
const defaultSpoolMaxSize = 256 << 20

// Redis pipelines: the default and the most.
const (
	defaultRedisPipelines = 2
	maxRedisPipelines     = 8
)

// loadConfig reads, decodes and validates the file at path, reporting
// every problem it finds at once. REDIS_URL from env overrides redis.url.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(b, getenv)
}

func parseConfig(b []byte, getenv func(string) string) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		switch {
		case errors.Is(err, io.EOF):
			errs = append(errs, errors.New("config: the file is empty"))
		case errors.As(err, &te):
			// The decoder went on after these; report them with the rest.
			for _, e := range te.Errors {
				errs = append(errs, fmt.Errorf("config: %s", e))
			}
		default:
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if u := getenv("REDIS_URL"); u != "" {
		cfg.Redis.URL = u
	}
	cfg.Devices.Policy = cfg.Policy
	cfg.Devices.Policies = cfg.Policies
	cfg.Devices.NASGroups = session.NASGroups(cfg.NAS)
	errs = append(errs, cfg.loadTerms())
	cfg.Portal.Retention, cfg.Portal.TimeZone = cfg.Devices.Retention, cfg.Devices.TimeZone
	errs = append(errs, cfg.validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// loadTerms loads the terms of use once, for the portal, and makes their
// VERSION file the terms version the session store binds grants and
// remembered devices to: one source of truth, so a new VERSION is what
// shows remembered devices the terms again. devices.terms_version is only
// accepted when it says the same.
func (c *Config) loadTerms() error {
	terms, err := portal.LoadTerms(c.Portal.TermsDir)
	if err != nil {
		return err
	}
	c.Portal.Terms = terms
	if v := c.Devices.TermsVersion; v != "" && v != terms.Version() {
		return fmt.Errorf("devices.terms_version %q differs from the terms' VERSION %q; remove devices.terms_version: the terms' VERSION file is the version", v, terms.Version())
	}
	c.Devices.TermsVersion = terms.Version()
	return nil
}

func (c *Config) validate() error {
	var errs []error
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log.format %q is not one of json, text", c.Log.Format))
	}
	if c.Redis.URL != "" {
		if _, err := session.RedisOptions(c.Redis.URL); err != nil {
			errs = append(errs, fmt.Errorf("redis.url: %w", err))
		}
	}
	if c.Redis.PoolSize < 0 || c.Redis.Timeout < 0 {
		errs = append(errs, errors.New("redis.pool_size and redis.timeout must not be negative"))
	}
	if c.Redis.SpoolMaxSize < 0 {
		errs = append(errs, fmt.Errorf("redis.spool_max_size must not be negative"))
	}
	if c.Redis.Spool != "" && c.Redis.URL == "" {
		errs = append(errs, errors.New("redis.spool is set without redis.url: the embedded store is never out of reach"))
	}
	if c.Redis.Pipelines < 0 || c.Redis.Pipelines > maxRedisPipelines {
		errs = append(errs, fmt.Errorf("redis.pipelines %d is not between 1 and %d", c.Redis.Pipelines, maxRedisPipelines))
	}
	errs = append(errs, c.RADIUS.Validate(), c.Portal.Validate(), c.Admin.Validate(), c.Devices.Validate())
	if _, err := session.NewNASTable(c.NAS); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// warnings are settings that work but that production should not keep.
func (c *Config) warnings() []string {
	var w []string
	if c.Redis.URL == "" {
		w = append(w, "no redis.url: running on the EMBEDDED in-process store; all grants, sessions and usage are LOST on restart and not shared between instances. Demo use only.")
	} else if c.Redis.Spool == "" {
		w = append(w, "no redis.spool: accounting records that arrive while Redis is out of reach get no answer, and are lost once the NAS gives up on them")
	}
	for _, n := range c.NAS {
		if len(n.Secret) < 16 {
			w = append(w, fmt.Sprintf("nas %q: shared secret is shorter than 16 characters (RFC 2865 recommends at least 16)", n.Name))
		}
		if n.RequireMessageAuthenticator != nil && !*n.RequireMessageAuthenticator {
			w = append(w, fmt.Sprintf("nas %q: Message-Authenticator is not required; the NAS is open to BlastRADIUS (CVE-2024-3596)", n.Name))
		}
	}
	return w
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(orDefault(c.Level, "info"))))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
