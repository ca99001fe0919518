package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/relator/relator/config"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/db"
)

func importCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) != 1 {
			return usageError{"import takes one FILE (or - for standard input)"}
		}
		name := inv.args[0]
		var r io.Reader = inv.stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		start := time.Now()
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		stats, err := events.ImportWith(ctx, pool, r, readOptions(inv.cfg))
		if err != nil {
			return fmt.Errorf("%s: %w (nothing was imported)", name, err)
		}
		fmt.Fprintf(inv.stdout, "import: %s: %d events: %d inserted, %d updated, %d unchanged",
			name, stats.Lines, stats.Inserted, stats.Updated, stats.Unchanged)
		if stats.Superseded > 0 {
			fmt.Fprintf(inv.stdout, " (%d lines superseded by a later line with the same id)", stats.Superseded)
		}
		fmt.Fprintf(inv.stdout, " in %.1fs\n", time.Since(start).Seconds())
		return nil
	}
}

// readOptions are the settings of event JSONL reading.
func readOptions(cfg config.Config) events.ReadOptions {
	return events.ReadOptions{Earliest: cfg.EarliestDate, Latest: cfg.LatestDate}
}
