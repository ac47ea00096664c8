package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tidemark/tidemark/adapters/kurrentdb"
	"github.com/tidemark/tidemark/domain/energy"
)

// Config is the whole configuration of `tidemark serve`. Each field comes
// from a TIDEMARK_* variable and can be overridden by the flag of the same
// name; this is the only place that reads either.
type Config struct {
	Addr              string
	DatabaseURL       string
	EventStoreURL     string
	ReadDatabaseURL   string
	EnergySecret      string
	EnergySignScheme  string
	CarwashToken      string
	ReadTokens        string
	AdminTokens       string
	LogLevel          string
	LogFormat         string
	MaxBodyBytes      int64
	QuarantineMax     int
	GroupCommitMax    int
	GroupCommitFlush  int
	RateLimit         float64
	RateBurst         int
	ShutdownTimeout   time.Duration
	ProjectionBatch   int
	ProjectionFlush   time.Duration
	ProjectionPoison  string
	PollInterval      time.Duration
	TrustProxyAddress bool
}

// setting describes one configuration value: its variable, flag and default.
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

// settings lists every variable; the README's configuration table mirrors it.
var settings = []setting{
	{"TIDEMARK_ADDR", "addr", ":8080", "listen address", str(func(c *Config) *string { return &c.Addr })},
	{"TIDEMARK_DATABASE_URL", "database-url", "sqlite://./var/tidemark.db", "read models (and the log unless TIDEMARK_EVENTSTORE_URL is set): sqlite://PATH or postgres://...", str(func(c *Config) *string { return &c.DatabaseURL })},
	{"TIDEMARK_EVENTSTORE_URL", "eventstore-url", "", "event log if not the database: kurrentdb://... or esdb://...", str(func(c *Config) *string { return &c.EventStoreURL })},
	{"TIDEMARK_READ_DATABASE_URL", "read-database-url", "", "a replica for queries (default: the database)", str(func(c *Config) *string { return &c.ReadDatabaseURL })},
	{"TIDEMARK_ENERGY_SECRET", "energy-secret", "", "secret of the energy callback signature (empty: not checked)", str(func(c *Config) *string { return &c.EnergySecret })},
	{"TIDEMARK_ENERGY_SIGN_SCHEME", "energy-sign-scheme", "md5-kv-sorted", "md5-kv-sorted, md5-kv-sorted-raw, md5-json or none", str(func(c *Config) *string { return &c.EnergySignScheme })},
	{"TIDEMARK_CARWASH_TOKEN", "carwash-token", "", "required ?token= on the car-wash callback URL (empty: no check)", str(func(c *Config) *string { return &c.CarwashToken })},
	{"TIDEMARK_READ_TOKENS", "read-tokens", "", "comma-separated bearer tokens for the read endpoints (empty: open)", str(func(c *Config) *string { return &c.ReadTokens })},
	{"TIDEMARK_ADMIN_TOKENS", "admin-tokens", "", "comma-separated bearer tokens for the admin endpoints (empty: disabled)", str(func(c *Config) *string { return &c.AdminTokens })},
	{"TIDEMARK_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"TIDEMARK_LOG_FORMAT", "log-format", "", "text or json (default: text on a terminal, else json)", str(func(c *Config) *string { return &c.LogFormat })},
	{"TIDEMARK_MAX_BODY_BYTES", "max-body-bytes", "65536", "callback body limit; larger bodies get 413", func(c *Config, v string) error { return parseInt64(v, &c.MaxBodyBytes) }},
	{"TIDEMARK_QUARANTINE_MAX", "quarantine-max", "5000", "rejected callbacks kept at most (oldest dropped first)", func(c *Config, v string) error { return parseInt(v, &c.QuarantineMax) }},
	{"TIDEMARK_GROUP_COMMIT_MAX", "group-commit-max", "256", "callbacks appended in one transaction at most", func(c *Config, v string) error { return parseInt(v, &c.GroupCommitMax) }},
	{"TIDEMARK_GROUP_COMMIT_FLUSHERS", "group-commit-flushers", "0", "group-commit transactions in flight at once (0: 4 on PostgreSQL, 1 on SQLite)", func(c *Config, v string) error { return parseInt(v, &c.GroupCommitFlush) }},
	{"TIDEMARK_RATE_LIMIT", "rate-limit", "0", "callbacks per second accepted over both endpoints (0: no limit); 429 + Retry-After above", func(c *Config, v string) error {
		_, err := fmt.Sscan(v, &c.RateLimit)
		return err
	}},
	{"TIDEMARK_RATE_BURST", "rate-burst", "0", "callbacks accepted at once above the rate (0: one second's worth)", func(c *Config, v string) error { return parseInt(v, &c.RateBurst) }},
	{"TIDEMARK_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "time given to in-flight requests on shutdown", func(c *Config, v string) error { return parseDuration(v, &c.ShutdownTimeout) }},
	{"TIDEMARK_PROJECTION_BATCH", "projection-batch", "1000", "events a projection applies per transaction at most", func(c *Config, v string) error { return parseInt(v, &c.ProjectionBatch) }},
	{"TIDEMARK_PROJECTION_FLUSH_INTERVAL", "projection-flush-interval", "20ms", "a live projection's wait after each commit; the events arriving meanwhile share its next transaction", func(c *Config, v string) error { return parseDuration(v, &c.ProjectionFlush) }},
	{"TIDEMARK_PROJECTION_POISON", "projection-poison", "skip", "what a projection does with an event it cannot apply: skip (record it) or stop", str(func(c *Config) *string { return &c.ProjectionPoison })},
	{"TIDEMARK_POLL_INTERVAL", "poll-interval", "500ms", "how often readers poll the log when no notification arrives", func(c *Config, v string) error { return parseDuration(v, &c.PollInterval) }},
	{"TIDEMARK_TRUST_PROXY", "trust-proxy", "false", "take the client address from X-Forwarded-For", func(c *Config, v string) error { return parseBool(v, &c.TrustProxyAddress) }},
}

// LoadConfig reads the environment, then the flags in args.
func LoadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		if err := s.set(&c, v); err != nil {
			return c, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	for _, s := range settings {
		s := s
		fs.Func(s.flag, s.help+" (env "+s.env+")", func(v string) error { return s.set(&c, v) })
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("TIDEMARK_ADDR is empty"))
	}
	if _, err := energy.ParseScheme(c.EnergySignScheme); err != nil {
		errs = append(errs, fmt.Errorf("TIDEMARK_ENERGY_SIGN_SCHEME: %w", err))
	}
	if c.ProjectionPoison != "skip" && c.ProjectionPoison != "stop" {
		errs = append(errs, fmt.Errorf("TIDEMARK_PROJECTION_POISON: %q is neither skip nor stop", c.ProjectionPoison))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("TIDEMARK_MAX_BODY_BYTES must be at least 1024"))
	}
	if u := c.ReadDatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, errors.New("TIDEMARK_READ_DATABASE_URL: want a postgres:// URL"))
	}
	if c.EventStoreURL != "" && !kurrentdb.IsURL(c.EventStoreURL) {
		errs = append(errs, errors.New("TIDEMARK_EVENTSTORE_URL: want a kurrentdb:// or esdb:// URL"))
	}
	return errors.Join(errs...)
}

func splitTokens(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func parseInt(v string, p *int) error {
	var n int64
	if err := parseInt64(v, &n); err != nil {
		return err
	}
	*p = int(n)
	return nil
}

func parseInt64(v string, p *int64) error {
	_, err := fmt.Sscan(v, p)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	return nil
}

func parseDuration(v string, p *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration: %w", v, err)
	}
	*p = d
	return nil
}

func parseBool(v string, p *bool) error {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		*p = true
	case "0", "false", "no", "off", "":
		*p = false
	default:
		return fmt.Errorf("%q is not a boolean", v)
	}
	return nil
}
