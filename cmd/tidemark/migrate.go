package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// cmdMigrate opens the database, which applies every pending migration, and exits.
func cmdMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfg, err := LoadConfig(fs, args, e.getenv)
	if err != nil {
		return err
	}
	st, err := openStorage(ctx, cfg.DatabaseURL, cfg.PollInterval, domain.SystemClock{})
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(e.stdout, "migrations applied (%s)\n", st.Dialect)
	return nil
}
