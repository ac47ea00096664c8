package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/migrations"
	"github.com/tidemark/tidemark/projections"
)

func cmdServe(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("serve", "serve [flags]\n\nEvery flag is also the TIDEMARK_* variable named beside it; the flag wins.", e)
	cfg, err := LoadConfig(fs, args, e.getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e)
	clock := domain.SystemClock{}

	st, err := openStorageFor(ctx, cfg.DatabaseURL, cfg.EventStoreURL, cfg.PollInterval, clock)
	if err != nil {
		return err
	}
	defer st.Close()

	flushers := cfg.GroupCommitFlush
	if flushers <= 0 {
		flushers = 1 // SQLite has one writer
		if st.Dialect == migrations.Postgres {
			flushers = 4 // concurrent commits share PostgreSQL's WAL flush
		}
	}
	appender := groupcommit.New(st.Events, groupcommit.Options{MaxBatch: cfg.GroupCommitMax, Flushers: flushers})
	reg := prometheus.NewRegistry()
	runner, err := projections.New(projections.Config{
		Store:         st.Events,
		DB:            st.DB,
		BatchSize:     cfg.ProjectionBatch,
		FlushInterval: cfg.ProjectionFlush,
		Poison:        projections.PoisonPolicy(strings.ToLower(cfg.ProjectionPoison)),
		DocCacheBytes: docCacheBytes(cfg.ReadCacheMB),
		Interpret:     st.Interpret,
		Clock:         clock,
		Logger:        log,
		Registry:      reg,
	})
	if err != nil {
		return err
	}
	readDB := st.ReadDB
	docs := runner.DocCache() // not with a replica: its rows may be older than the cache's
	if cfg.ReadDatabaseURL != "" {
		docs = nil
		if st.Dialect != migrations.Postgres {
			return errors.New("TIDEMARK_READ_DATABASE_URL: a read replica goes with a PostgreSQL database")
		}
		qdb, err := postgres.OpenQueryDB(ctx, cfg.ReadDatabaseURL, 0)
		if err != nil {
			return fmt.Errorf("open the read database: %w", err)
		}
		defer qdb.Close()
		readDB = qdb.DB
	}
	reader, err := projections.NewReader(readDB, projections.ReaderOptions{Interpret: st.Interpret, Docs: docs})
	if err != nil {
		return err
	}
	srv, err := api.New(api.Config{
		MaxBodyBytes:   cfg.MaxBodyBytes,
		CarwashToken:   cfg.CarwashToken,
		EnergyScheme:   energy.Scheme(cfg.EnergySignScheme),
		EnergySecret:   cfg.EnergySecret,
		ReadTokens:     splitTokens(cfg.ReadTokens),
		AdminTokens:    splitTokens(cfg.AdminTokens),
		TrustProxyAddr: cfg.TrustProxyAddress,
		RateLimit:      cfg.RateLimit,
		RateBurst:      cfg.RateBurst,
	}, api.Deps{
		Appender:    appender,
		Store:       st.Events,
		Quarantine:  quarantine.New(st.DB, cfg.QuarantineMax),
		ReadModels:  reader,
		Projections: runner,
		Clock:       clock,
		Logger:      log,
		Registry:    reg,
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return &api.NotReady{Reason: "store unreachable", Err: err}
			}
			if readDB != st.ReadDB {
				if err := readDB.PingContext(ctx); err != nil {
					return &api.NotReady{Reason: "read database unreachable", Err: err}
				}
			}
			if n, err := migrations.Pending(ctx, st.DB.DB, st.Dialect); err != nil {
				return &api.NotReady{Reason: "migrations cannot be read", Err: err}
			} else if n > 0 {
				return &api.NotReady{Reason: fmt.Sprintf("migrations pending: %d", n)}
			}
			for _, p := range runner.Status() {
				if p.State == projections.StateFailed {
					return &api.NotReady{Reason: "projection " + p.Name + " failed", Err: errors.New(p.LastError)}
				}
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	warnings(cfg, log)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	hs := api.NewHTTPServer(srv, log)
	base := "http://" + displayAddr(ln.Addr())
	log.Info("tidemark serving", "addr", ln.Addr().String(), "storage", st.Dialect,
		"carwash_callback", base+"/v1/callbacks/carwash", "energy_callback", base+"/v1/callbacks/energy")
	fmt.Fprintf(e.stdout, "Tidemark is listening on %s\n  POST car-wash callbacks to %s/v1/callbacks/carwash\n  POST energy callbacks to   %s/v1/callbacks/energy\n  health: %s/healthz\n",
		ln.Addr(), base, base, base)

	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(runCtx) }()
	stopAll := func() {
		stopRunner()
		if err := <-runnerDone; err != nil {
			log.Error("projections stopped with an error", "err", err)
		}
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		appender.Close()
		stopAll()
		return fmt.Errorf("http server: %w", err)
	case err := <-runnerDone:
		hs.Close()
		appender.Close()
		return fmt.Errorf("projections: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx) // waits for handlers, so every acknowledged append has committed
	appender.Close()
	stopAll()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func warnings(cfg Config, log *slog.Logger) {
	if cfg.EnergySecret == "" || cfg.EnergySignScheme == string(energy.SchemeNone) {
		log.Warn("energy callback signatures are NOT checked (no TIDEMARK_ENERGY_SECRET): events are marked unverified")
	}
	// The token warnings come from api.New, which knows what it serves.
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

// docCacheBytes is projections.Config.DocCacheBytes for
// TIDEMARK_READ_CACHE_MB: 0 turns the cache off.
func docCacheBytes(mb int) int64 {
	if mb == 0 {
		return -1
	}
	return int64(mb) << 20
}
