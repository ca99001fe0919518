package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/relator/relator/migrations"
)

func migrateCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"migrate takes no arguments"}
		}
		start := time.Now()
		from, to, err := migrations.Migrate(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if from == to {
			fmt.Fprintf(inv.stdout, "migrate: schema at version %d, nothing to apply (%.1fs)\n", to, time.Since(start).Seconds())
		} else {
			fmt.Fprintf(inv.stdout, "migrate: schema version %d → %d (%.1fs)\n", from, to, time.Since(start).Seconds())
		}
		return nil
	}
}
