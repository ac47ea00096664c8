package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
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
	ReadCacheMB       int
	PollInterval      time.Duration
	TrustProxyAddress bool
}

// setting describes one configuration value: its variable, flag and
// default, and how its text is read into a Config (syntax only: Validate
// says which values make sense).
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

// name is how errors call the setting: by variable and flag.
func (s setting) name() string { return s.env + " (--" + s.flag + ")" }

// isSwitch reports a setting off by default: its flag alone turns it on
// (--trust-proxy), a value goes after = (--trust-proxy=false).
func (s setting) isSwitch() bool { return s.def == "false" }

// settings lists every variable; the README's configuration table mirrors it.
var settings = []setting{
	{"TIDEMARK_ADDR", "addr", ":8080", "listen address, host:port", str(func(c *Config) *string { return &c.Addr })},
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
	{"TIDEMARK_MAX_BODY_BYTES", "max-body-bytes", "65536", "callback body limit, at least 1024; larger bodies get 413", int64Of(func(c *Config) *int64 { return &c.MaxBodyBytes })},
	{"TIDEMARK_QUARANTINE_MAX", "quarantine-max", "5000", "rejected callbacks kept at most, at least 1 (oldest dropped first)", intOf(func(c *Config) *int { return &c.QuarantineMax })},
	{"TIDEMARK_GROUP_COMMIT_MAX", "group-commit-max", "256", "callbacks appended in one transaction at most, at least 1", intOf(func(c *Config) *int { return &c.GroupCommitMax })},
	{"TIDEMARK_GROUP_COMMIT_FLUSHERS", "group-commit-flushers", "0", "group-commit transactions in flight at once (0: 4 on PostgreSQL, 1 on SQLite)", intOf(func(c *Config) *int { return &c.GroupCommitFlush })},
	{"TIDEMARK_RATE_LIMIT", "rate-limit", "0", "callbacks per second accepted over both endpoints (0: no limit); 429 + Retry-After above", floatOf(func(c *Config) *float64 { return &c.RateLimit })},
	{"TIDEMARK_RATE_BURST", "rate-burst", "0", "callbacks accepted at once above the rate (0: one second's worth)", intOf(func(c *Config) *int { return &c.RateBurst })},
	{"TIDEMARK_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "time given to in-flight requests on shutdown (> 0)", durationOf(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"TIDEMARK_PROJECTION_BATCH", "projection-batch", "1000", "events a projection applies per transaction at most, at least 1", intOf(func(c *Config) *int { return &c.ProjectionBatch })},
	{"TIDEMARK_PROJECTION_FLUSH_INTERVAL", "projection-flush-interval", "20ms", "a live projection's wait after each commit (> 0); the events arriving meanwhile share its next transaction", durationOf(func(c *Config) *time.Duration { return &c.ProjectionFlush })},
	{"TIDEMARK_PROJECTION_POISON", "projection-poison", "skip", "what a projection does with an event it cannot apply: skip (record it) or stop", str(func(c *Config) *string { return &c.ProjectionPoison })},
	{"TIDEMARK_READ_CACHE_MB", "read-cache-mb", "16", "MiB of device and order documents kept in memory per projection this process applies, to answer GETs by id (0: none)", intOf(func(c *Config) *int { return &c.ReadCacheMB })},
	{"TIDEMARK_POLL_INTERVAL", "poll-interval", "500ms", "how often readers poll the log when no notification arrives (> 0)", durationOf(func(c *Config) *time.Duration { return &c.PollInterval })},
	{"TIDEMARK_TRUST_PROXY", "trust-proxy", "false", "take the client address from X-Forwarded-For", boolOf(func(c *Config) *bool { return &c.TrustProxyAddress })},
}

// LoadConfig defines a flag for every setting on fs, parses args, and reads
// each setting from its flag if given, else from its variable, else its
// default. Only that effective value is read and validated: a variable a
// flag overrides is ignored, however malformed.
func LoadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	flags := make([]*settingFlag, len(settings))
	for i, s := range settings {
		flags[i] = &settingFlag{value: s.def, isBool: s.isSwitch()}
		fs.Var(flags[i], s.flag, s.help+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if err := noArgs(fs, suggestSetting(fs)); err != nil {
		return Config{}, err
	}
	var c Config
	var errs []error
	unread := map[string]bool{} // variables whose value could not be read
	for i, s := range settings {
		v := flags[i].value
		if !flags[i].given {
			v = envOr(getenv, s.env, s.def)
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name(), err))
			unread[s.env] = true
		}
	}
	for _, p := range c.problems() {
		if !unread[p.env] { // its zero value says nothing
			errs = append(errs, p.err)
		}
	}
	return c, errors.Join(errs...)
}

// settingFlag is a setting's flag as given; LoadConfig reads it after the
// parse, so a flag given twice counts once (the last) and a flag not given
// leaves the variable in charge.
type settingFlag struct {
	value  string
	given  bool
	isBool bool // --trust-proxy alone means true
}

func (f *settingFlag) String() string {
	if f == nil { // the flag package may ask a nil receiver
		return ""
	}
	return f.value
}

func (f *settingFlag) Set(v string) error {
	f.value, f.given = v, true
	return nil
}

func (f *settingFlag) IsBoolFlag() bool { return f != nil && f.isBool }

// suggestSetting maps a stray argument of serve or migrate to the flag it
// was probably meant as: TIDEMARK_X=V to --x V, a boolean after a switch
// (--trust-proxy false) to --trust-proxy=false, a URL to --database-url.
func suggestSetting(fs *flag.FlagSet) func(string) string {
	return func(arg string) string {
		for _, s := range settings {
			if k, v, ok := strings.Cut(arg, "="); ok && k == s.env {
				return fmt.Sprintf("--%s %s", s.flag, v)
			}
			if s.isSwitch() && flagGiven(fs, s.flag) && s.set(&Config{}, arg) == nil {
				return fmt.Sprintf("--%s=%s", s.flag, arg)
			}
		}
		if strings.Contains(arg, "://") && !flagGiven(fs, "database-url") {
			return "--database-url " + arg
		}
		return ""
	}
}

// settingName is how errors call the setting whose variable is env.
func settingName(env string) string {
	for _, s := range settings {
		if s.env == env {
			return s.name()
		}
	}
	return env
}

// Validate reports settings that cannot work, each by variable and flag.
// Zero keeps a meaning only where the README's table gives it one
// (TIDEMARK_GROUP_COMMIT_FLUSHERS, TIDEMARK_RATE_LIMIT, TIDEMARK_RATE_BURST);
// elsewhere a value that would be replaced by a default or make no sense is
// refused.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, p.err)
	}
	return errors.Join(errs...)
}

// problem is a setting Validate refuses.
type problem struct {
	env string
	err error // names the setting
}

func (c Config) problems() []problem {
	checks := []problem{
		{"TIDEMARK_ADDR", checkAddr(c.Addr)},
		{"TIDEMARK_DATABASE_URL", checkDatabaseURL(c.DatabaseURL)},
		{"TIDEMARK_EVENTSTORE_URL", checkEventStoreURL(c.EventStoreURL)},
		{"TIDEMARK_READ_DATABASE_URL", checkReadDatabaseURL(c.ReadDatabaseURL)},
		{"TIDEMARK_ENERGY_SIGN_SCHEME", checkScheme(c.EnergySignScheme)},
		{"TIDEMARK_LOG_LEVEL", oneOf(c.LogLevel, "debug", "info", "warn", "error")},
		{"TIDEMARK_LOG_FORMAT", optional(c.LogFormat, oneOf(c.LogFormat, "text", "json"))},
		{"TIDEMARK_MAX_BODY_BYTES", atLeast(c.MaxBodyBytes, 1024)},
		{"TIDEMARK_QUARANTINE_MAX", atLeast(c.QuarantineMax, 1)},
		{"TIDEMARK_GROUP_COMMIT_MAX", atLeast(c.GroupCommitMax, 1)},
		{"TIDEMARK_GROUP_COMMIT_FLUSHERS", atLeast(c.GroupCommitFlush, 0)},
		{"TIDEMARK_RATE_LIMIT", atLeast(c.RateLimit, 0)},
		{"TIDEMARK_RATE_BURST", atLeast(c.RateBurst, 0)},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", positive(c.ShutdownTimeout)},
		{"TIDEMARK_PROJECTION_BATCH", atLeast(c.ProjectionBatch, 1)},
		{"TIDEMARK_PROJECTION_FLUSH_INTERVAL", positive(c.ProjectionFlush)},
		{"TIDEMARK_PROJECTION_POISON", oneOf(c.ProjectionPoison, "skip", "stop")},
		{"TIDEMARK_READ_CACHE_MB", atLeast(c.ReadCacheMB, 0)},
		{"TIDEMARK_POLL_INTERVAL", positive(c.PollInterval)},
	}
	var out []problem
	for _, ch := range checks {
		if ch.err != nil {
			out = append(out, problem{ch.env, fmt.Errorf("%s: %w", settingName(ch.env), ch.err)})
		}
	}
	return out
}

func checkAddr(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q: want host:port, e.g. :8080: %w", addr, err)
	}
	return nil
}

func checkEventStoreURL(u string) error {
	if u != "" && !kurrentdb.IsURL(u) {
		return fmt.Errorf("%q: want a kurrentdb:// or esdb:// URL", redactURL(u))
	}
	return nil
}

func checkReadDatabaseURL(u string) error {
	if u != "" && !isPostgresURL(u) {
		return fmt.Errorf("%q: want a postgres:// URL", redactURL(u))
	}
	return nil
}

func checkScheme(s string) error {
	_, err := energy.ParseScheme(s)
	return err
}

// redactURL hides the password of a URL quoted in an error.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// oneOf accepts v if it is one of allowed, ignoring case (serve folds it).
func oneOf(v string, allowed ...string) error {
	if slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, v) }) {
		return nil
	}
	return fmt.Errorf("%q: want %s or %s", v, strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1])
}

// optional accepts an empty v (the setting's default), else returns err.
func optional(v string, err error) error {
	if v == "" {
		return nil
	}
	return err
}

// atLeast accepts v ≥ lowest (NaN is refused).
func atLeast[T int | int64 | float64](v, lowest T) error {
	if v >= lowest {
		return nil
	}
	return fmt.Errorf("%v: want at least %v", v, lowest)
}

// positive accepts a duration above zero.
func positive(d time.Duration) error {
	if d > 0 {
		return nil
	}
	return fmt.Errorf("%s: want a positive duration", d)
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

// The parsers of setting values: each refuses trailing garbage and quotes
// the value as given.

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func intOf(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("%q is not an integer: %w", v, numError(err))
		}
		*p(c) = int(n)
		return nil
	}
}

func int64Of(p func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer: %w", v, numError(err))
		}
		*p(c) = n
		return nil
	}
}

func floatOf(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number: %w", v, numError(err))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a finite number", v)
		}
		*p(c) = f
		return nil
	}
}

// numError is strconv's reason (invalid syntax, value out of range)
// without its restatement of the function and the value.
func numError(err error) error {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

func durationOf(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 500ms, 15s, 1m): %w", v, err)
		}
		*p(c) = d
		return nil
	}
}

func boolOf(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*p(c) = true
		case "0", "false", "no", "off":
			*p(c) = false
		default:
			return fmt.Errorf("%q is not a boolean (want true or false)", v)
		}
		return nil
	}
}
