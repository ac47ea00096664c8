package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// Appender appends durably: it returns only after the event's transaction
// committed (the group-commit appender, or a store itself).
type Appender interface {
	Append(ctx context.Context, req domain.AppendRequest) (domain.AppendResult, error)
}

// Config is what the HTTP layer needs to know; cmd fills it from flags and
// TIDEMARK_* variables.
type Config struct {
	MaxBodyBytes   int64         // callback body limit (413 above); default 64 KiB
	RetryAfter     time.Duration // Retry-After on 503; default 2s
	CarwashToken   string        // required ?token= on the car-wash URL when set
	EnergyScheme   energy.Scheme // signature scheme of the energy callback
	EnergySecret   string        // empty: signature not checked (events marked unverified)
	ReadTokens     []string      // bearer tokens for the read endpoints (none: open)
	AdminTokens    []string      // bearer tokens for the admin endpoints (none: admin disabled)
	TrustProxyAddr bool          // take the remote address from X-Forwarded-For
	RateLimit      float64       // callbacks per second over both endpoints (0: no limit); 429 above
	RateBurst      int           // callbacks allowed at once above the rate (default: one second's worth)
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 2 * time.Second
	}
	if c.EnergyScheme == "" {
		c.EnergyScheme = energy.SchemeMD5KVSorted
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if _, err := energy.ParseScheme(string(c.EnergyScheme)); err != nil {
		return fmt.Errorf("energy sign scheme: %w", err)
	}
	if c.RateLimit < 0 || c.RateBurst < 0 {
		return errors.New("rate limit and burst must not be negative")
	}
	if c.MaxBodyBytes < 1024 {
		return errors.New("max body bytes must be at least 1024")
	}
	return nil
}

// Deps are the collaborators of the server.
type Deps struct {
	Appender    Appender
	Store       domain.EventStore
	Quarantine  *quarantine.Store
	ReadModels  ReadModels  // the projections' read side
	Projections Projections // the projection runner (status, rebuild); nil when not running here
	Clock       domain.Clock
	Logger      *slog.Logger
	Registry    *prometheus.Registry // metrics are registered here and served at /metrics
	// Ready reports whether the service can take traffic (store reachable,
	// migrations applied, projections not failed); nil means always ready.
	// /readyz is unauthenticated, so it answers only the Reason of a
	// *NotReady (else "not ready") and logs the whole error.
	Ready func(ctx context.Context) error
}

// NotReady is a Ready error: Reason is safe to show anyone ("store
// unreachable"); Err, the cause, may name hosts or SQL and is only logged.
type NotReady struct {
	Reason string
	Err    error
}

func (e *NotReady) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *NotReady) Unwrap() error { return e.Err }
