package kurrentdb

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
)

// schemes the client accepts; "+discover" asks DNS for the cluster's nodes.
var schemes = []string{"kurrentdb", "kurrent", "kdb", "esdb"}

// IsURL reports whether s is a KurrentDB connection string
// (kurrentdb://, esdb://, their +discover forms, kurrent://, kdb://), so a
// caller can tell it from postgres:// or sqlite:// URLs.
func IsURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return false
	}
	scheme = strings.TrimSuffix(strings.ToLower(scheme), "+discover")
	for _, k := range schemes {
		if scheme == k {
			return true
		}
	}
	return false
}

// prefixParam is Tidemark's own URL parameter; the client does not know it.
const prefixParam = "streamprefix"

// splitURL removes the streamPrefix parameter from a connection string and
// returns it apart. Other parameters are passed to the client untouched.
func splitURL(raw string) (conn, prefix string, err error) {
	base, query, found := strings.Cut(raw, "?")
	if !found {
		return raw, "", nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("query of %s: %w", redact(raw), err)
	}
	for key, v := range values {
		if strings.ToLower(key) == prefixParam {
			if len(v) > 0 {
				prefix = v[0]
			}
			delete(values, key)
		}
	}
	if len(values) == 0 {
		return base, prefix, nil
	}
	return base + "?" + values.Encode(), prefix, nil
}

// configure parses the connection string and applies the options that the
// URL cannot carry (a certificate pool read by us, the logger).
func configure(raw string, opts Options) (*kurrentdb.Configuration, error) {
	cfg, err := kurrentdb.ParseConnectionString(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", redact(raw), err)
	}
	cfg.Logger = clientLogger(opts.Logger)
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.ClientCertFile != "" {
		cfg.UserCertFile, cfg.UserKeyFile = opts.ClientCertFile, opts.ClientKeyFile
	}
	if opts.InsecureSkipVerify {
		cfg.SkipCertificateVerification = true
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// clientLogger sends the client's log lines to slog. The client reports
// routine events (a subscription we cancelled, a discovery attempt) as
// errors and infos, so they go out one level lower.
func clientLogger(l *slog.Logger) kurrentdb.LoggingFunc {
	return func(level kurrentdb.LogLevel, format string, args ...any) {
		lvl := slog.LevelDebug
		switch level {
		case kurrentdb.LogError, kurrentdb.LogWarn:
			lvl = slog.LevelWarn
		}
		l.Log(context.Background(), lvl, "kurrentdb client: "+fmt.Sprintf(format, args...))
	}
}

// redact hides the password of a connection string for messages.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndex(rest, "@")
	if slash := strings.IndexAny(rest, "/?"); slash >= 0 && slash < at {
		at = -1 // an @ in the query, not userinfo
	}
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
