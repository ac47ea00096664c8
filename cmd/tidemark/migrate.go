package main

import (
	"context"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// cmdMigrate opens the database, which applies every pending migration, and exits.
func cmdMigrate(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("migrate", "migrate [flags]\n\nmigrate reads the settings of serve (only the database's matter); each flag is also a TIDEMARK_* variable.", e)
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
