package main

import (
	"flag"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// The README's configuration table lists every setting, by variable and
// flag, and nothing else.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{} // variable -> flag
	for line := range strings.Lines(string(readme)) {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "TIDEMARK_") {
			continue
		}
		env, flag := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		if !strings.HasPrefix(flag, "--") { // the table of settings, not another one naming a variable
			continue
		}
		documented[env] = strings.TrimPrefix(flag, "--")
	}
	for _, s := range settings {
		flag, ok := documented[s.env]
		switch {
		case !ok:
			t.Errorf("%s (--%s) is not in the README's configuration table", s.env, s.flag)
		case flag != s.flag:
			t.Errorf("README: %s is --%s, the code reads --%s", s.env, flag, s.flag)
		}
		delete(documented, s.env)
	}
	for env := range documented {
		t.Errorf("README documents %s, which the code does not read", env)
	}
}

// loadConfig runs LoadConfig on a fresh flag set with the given variables.
func loadConfig(vars map[string]string, args ...string) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return LoadConfig(fs, args, func(k string) string { return vars[k] })
}

// lookupSetting is the setting read from env.
func lookupSetting(t *testing.T, env string) setting {
	t.Helper()
	for _, s := range settings {
		if s.env == env {
			return s
		}
	}
	t.Fatalf("no setting %s", env)
	return setting{}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(nil)
	if err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	want := Config{
		Addr: ":8080", DatabaseURL: "sqlite://./var/tidemark.db", EnergySignScheme: "md5-kv-sorted", LogLevel: "info",
		MaxBodyBytes: 65536, QuarantineMax: 5000, GroupCommitMax: 256, ShutdownTimeout: 15 * time.Second,
		ProjectionBatch: 1000, ProjectionFlush: 20 * time.Millisecond, ProjectionPoison: "skip", ReadCacheMB: 16, PollInterval: 500 * time.Millisecond,
	}
	if c != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("Validate of the defaults: %v", err)
	}
}

// Values that parse and make sense, 0 included where it has a meaning.
func TestLoadConfigAcceptsGoodValues(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		check      func(Config) bool
	}{
		{"TIDEMARK_GROUP_COMMIT_FLUSHERS", "0", func(c Config) bool { return c.GroupCommitFlush == 0 }},
		{"TIDEMARK_GROUP_COMMIT_FLUSHERS", "8", func(c Config) bool { return c.GroupCommitFlush == 8 }},
		{"TIDEMARK_RATE_LIMIT", "0", func(c Config) bool { return c.RateLimit == 0 }},
		{"TIDEMARK_RATE_LIMIT", "2.5", func(c Config) bool { return c.RateLimit == 2.5 }},
		{"TIDEMARK_RATE_BURST", "0", func(c Config) bool { return c.RateBurst == 0 }},
		{"TIDEMARK_MAX_BODY_BYTES", "1024", func(c Config) bool { return c.MaxBodyBytes == 1024 }},
		{"TIDEMARK_QUARANTINE_MAX", "1", func(c Config) bool { return c.QuarantineMax == 1 }},
		{"TIDEMARK_LOG_LEVEL", "WARN", func(c Config) bool { return c.LogLevel == "WARN" }},
		{"TIDEMARK_LOG_FORMAT", "json", func(c Config) bool { return c.LogFormat == "json" }},
		{"TIDEMARK_PROJECTION_POISON", "stop", func(c Config) bool { return c.ProjectionPoison == "stop" }},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", "1ms", func(c Config) bool { return c.ShutdownTimeout == time.Millisecond }},
		{"TIDEMARK_TRUST_PROXY", "yes", func(c Config) bool { return c.TrustProxyAddress }},
		{"TIDEMARK_DATABASE_URL", "postgresql://u@h/db", func(c Config) bool { return c.DatabaseURL == "postgresql://u@h/db" }},
		{"TIDEMARK_DATABASE_URL", "./x.db", func(c Config) bool { return c.DatabaseURL == "./x.db" }},
		{"TIDEMARK_DATABASE_URL", "file:///tmp/x.db", func(c Config) bool { return c.DatabaseURL == "file:///tmp/x.db" }},
	} {
		s := lookupSetting(t, tc.env)
		for _, via := range []string{"env", "flag"} {
			var c Config
			var err error
			if via == "env" {
				c, err = loadConfig(map[string]string{tc.env: tc.value})
			} else {
				c, err = loadConfig(nil, "--"+s.flag+"="+tc.value)
			}
			if err != nil || !tc.check(c) {
				t.Errorf("%s=%q by %s: %v, %+v", tc.env, tc.value, via, err, c)
			}
		}
	}
	if c, err := loadConfig(nil, "--trust-proxy"); err != nil || !c.TrustProxyAddress {
		t.Errorf("--trust-proxy alone: %v, %v", err, c.TrustProxyAddress)
	}
	if c, err := loadConfig(map[string]string{"TIDEMARK_TRUST_PROXY": "true"}, "--trust-proxy=false"); err != nil || c.TrustProxyAddress {
		t.Errorf("--trust-proxy=false over TIDEMARK_TRUST_PROXY=true: %v, %v", err, c.TrustProxyAddress)
	}
	if _, err := loadConfig(nil, "--trust-proxy", "false"); err == nil || !strings.Contains(err.Error(), "did you mean --trust-proxy=false?") {
		t.Errorf("--trust-proxy false: %v", err)
	}
}

// Every value that does not parse or makes no sense is refused, by
// variable or by flag, with an error naming both and the value.
func TestLoadConfigRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		want       string // besides the variable and the flag
	}{
		{"TIDEMARK_MAX_BODY_BYTES", "65536x", `"65536x" is not an integer`},
		{"TIDEMARK_MAX_BODY_BYTES", "99999999999999999999", "value out of range"},
		{"TIDEMARK_MAX_BODY_BYTES", "1023", "1023: want at least 1024"},
		{"TIDEMARK_QUARANTINE_MAX", "0", "0: want at least 1"},
		{"TIDEMARK_QUARANTINE_MAX", "-3", "-3: want at least 1"},
		{"TIDEMARK_QUARANTINE_MAX", "1e3", `"1e3" is not an integer`},
		{"TIDEMARK_GROUP_COMMIT_MAX", "0", "0: want at least 1"},
		{"TIDEMARK_GROUP_COMMIT_FLUSHERS", "-1", "-1: want at least 0"},
		{"TIDEMARK_RATE_LIMIT", "abc", `"abc" is not a number`},
		{"TIDEMARK_RATE_LIMIT", "10/s", `"10/s" is not a number`},
		{"TIDEMARK_RATE_LIMIT", "-1", "-1: want at least 0"},
		{"TIDEMARK_RATE_LIMIT", "NaN", `"NaN" is not a finite number`},
		{"TIDEMARK_RATE_LIMIT", "Inf", `"Inf" is not a finite number`},
		{"TIDEMARK_RATE_BURST", "-1", "-1: want at least 0"},
		{"TIDEMARK_PROJECTION_BATCH", "-5", "-5: want at least 1"},
		{"TIDEMARK_PROJECTION_BATCH", "0", "0: want at least 1"},
		{"TIDEMARK_PROJECTION_BATCH", "10.5", `"10.5" is not an integer`},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", "-1s", "-1s: want a positive duration"},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", "0s", "0s: want a positive duration"},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", "15", `"15" is not a duration`},
		{"TIDEMARK_POLL_INTERVAL", "0s", "0s: want a positive duration"},
		{"TIDEMARK_POLL_INTERVAL", "500ms!", `"500ms!" is not a duration`},
		{"TIDEMARK_PROJECTION_FLUSH_INTERVAL", "0", "0s: want a positive duration"},
		{"TIDEMARK_LOG_LEVEL", "verbose", `"verbose": want debug, info, warn or error`},
		{"TIDEMARK_LOG_LEVEL", "info+2", `"info+2": want debug, info, warn or error`},
		{"TIDEMARK_LOG_FORMAT", "xml", `"xml": want text or json`},
		{"TIDEMARK_PROJECTION_POISON", "ignore", `"ignore": want skip or stop`},
		{"TIDEMARK_TRUST_PROXY", "maybe", `"maybe" is not a boolean`},
		{"TIDEMARK_ADDR", "8080", `"8080": want host:port`},
		{"TIDEMARK_DATABASE_URL", "postgre://u:pw@h/db", `"postgre://u:xxxxx@h/db": unknown scheme postgre://`},
		{"TIDEMARK_DATABASE_URL", "sqlite://", "names no file"},
		{"TIDEMARK_EVENTSTORE_URL", "http://h:2113", `"http://h:2113": want a kurrentdb:// or esdb:// URL`},
		{"TIDEMARK_READ_DATABASE_URL", "sqlite://r.db", `"sqlite://r.db": want a postgres:// URL`},
		{"TIDEMARK_ENERGY_SIGN_SCHEME", "sha1", `"sha1"`},
	} {
		s := lookupSetting(t, tc.env)
		for _, via := range []string{"env", "flag"} {
			var err error
			if via == "env" {
				_, err = loadConfig(map[string]string{tc.env: tc.value})
			} else {
				_, err = loadConfig(nil, "--"+s.flag+"="+tc.value)
			}
			if err == nil {
				t.Errorf("%s=%q by %s: accepted", tc.env, tc.value, via)
				continue
			}
			for _, want := range []string{tc.env + " (--" + s.flag + "): ", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s=%q by %s: %q does not say %q", tc.env, tc.value, via, err, want)
				}
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("%s=%q by %s: more than the one error: %q", tc.env, tc.value, via, err)
			}
		}
	}
}

// All the bad settings are reported at once, a malformed one included.
func TestLoadConfigReportsEveryBadSetting(t *testing.T) {
	_, err := loadConfig(map[string]string{"TIDEMARK_LOG_LEVEL": "loud"}, "--rate-limit", "abc", "--poll-interval", "0s")
	for _, want := range []string{"TIDEMARK_LOG_LEVEL", "TIDEMARK_RATE_LIMIT", "TIDEMARK_POLL_INTERVAL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// A flag overrides its variable, and a variable it overrides is not read.
func TestLoadConfigFlagOverridesEnv(t *testing.T) {
	vars := map[string]string{
		"TIDEMARK_RATE_LIMIT":       "abc", // malformed, overridden
		"TIDEMARK_POLL_INTERVAL":    "0s",  // out of range, overridden
		"TIDEMARK_QUARANTINE_MAX":   "10",  // valid, overridden
		"TIDEMARK_LOG_LEVEL":        "debug",
		"TIDEMARK_GROUP_COMMIT_MAX": "64", // not overridden
	}
	c, err := loadConfig(vars, "--rate-limit", "5", "--poll-interval", "1s", "--quarantine-max=20", "--log-level", "error", "--log-level", "warn")
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.RateLimit != 5 || c.PollInterval != time.Second || c.QuarantineMax != 20 || c.LogLevel != "warn" || c.GroupCommitMax != 64 {
		t.Errorf("got rate %v, poll %v, quarantine %d, log level %q, group commit %d; want 5, 1s, 20, warn (the last flag), 64 (the variable)",
			c.RateLimit, c.PollInterval, c.QuarantineMax, c.LogLevel, c.GroupCommitMax)
	}
	// Without the flags the same variables are read, and refused.
	if _, err := loadConfig(vars); err == nil || !strings.Contains(err.Error(), "TIDEMARK_RATE_LIMIT") || !strings.Contains(err.Error(), "TIDEMARK_POLL_INTERVAL") {
		t.Errorf("the bad variables alone: %v", err)
	}
}

// Validate checks a Config however it was made, naming the setting.
func TestValidate(t *testing.T) {
	good, err := loadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env    string
		mutate func(*Config)
	}{
		{"TIDEMARK_ADDR", func(c *Config) { c.Addr = "" }},
		{"TIDEMARK_DATABASE_URL", func(c *Config) { c.DatabaseURL = "" }},
		{"TIDEMARK_ENERGY_SIGN_SCHEME", func(c *Config) { c.EnergySignScheme = "MD5" }},
		{"TIDEMARK_LOG_LEVEL", func(c *Config) { c.LogLevel = "trace" }},
		{"TIDEMARK_LOG_FORMAT", func(c *Config) { c.LogFormat = "logfmt" }},
		{"TIDEMARK_MAX_BODY_BYTES", func(c *Config) { c.MaxBodyBytes = 0 }},
		{"TIDEMARK_QUARANTINE_MAX", func(c *Config) { c.QuarantineMax = 0 }},
		{"TIDEMARK_GROUP_COMMIT_MAX", func(c *Config) { c.GroupCommitMax = -1 }},
		{"TIDEMARK_GROUP_COMMIT_FLUSHERS", func(c *Config) { c.GroupCommitFlush = -2 }},
		{"TIDEMARK_RATE_LIMIT", func(c *Config) { c.RateLimit = math.NaN() }},
		{"TIDEMARK_RATE_BURST", func(c *Config) { c.RateBurst = -1 }},
		{"TIDEMARK_SHUTDOWN_TIMEOUT", func(c *Config) { c.ShutdownTimeout = 0 }},
		{"TIDEMARK_PROJECTION_BATCH", func(c *Config) { c.ProjectionBatch = 0 }},
		{"TIDEMARK_PROJECTION_FLUSH_INTERVAL", func(c *Config) { c.ProjectionFlush = -time.Millisecond }},
		{"TIDEMARK_PROJECTION_POISON", func(c *Config) { c.ProjectionPoison = "" }},
		{"TIDEMARK_READ_CACHE_MB", func(c *Config) { c.ReadCacheMB = -1 }},
		{"TIDEMARK_POLL_INTERVAL", func(c *Config) { c.PollInterval = 0 }},
	} {
		c := good
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), settingName(tc.env)+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Validate = %v, want one error naming %s", tc.env, err, settingName(tc.env))
		}
	}
}

// serve -h lists every flag with its variable and default, and exits 0.
func TestServeHelpShowsDefaultsAndVariables(t *testing.T) {
	code, stdout, stderr := runCLI(nil, "serve", "-h")
	if code != 0 {
		t.Fatalf("serve -h: exit %d\n%s", code, stderr)
	}
	help := stdout + stderr
	for _, s := range settings {
		if !strings.Contains(help, "-"+s.flag+" ") && !strings.Contains(help, "-"+s.flag+"\n") {
			t.Errorf("serve -h does not list -%s", s.flag)
		}
		if !strings.Contains(help, "(env "+s.env+")") {
			t.Errorf("serve -h does not name %s", s.env)
		}
		if s.def != "" && !strings.Contains(help, "(default "+s.def+")") {
			t.Errorf("serve -h does not show the default of -%s (%s)", s.flag, s.def)
		}
	}
}
