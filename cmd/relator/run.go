package main

import (
	"context"
	"flag"

	"github.com/relator/relator/internal/db"
)

func runCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"run takes no arguments"}
		}
		opts, err := passOptions(inv, "run")
		if err != nil {
			return err
		}
		pool, err := db.OpenFor(ctx, inv.cfg.DatabaseURL, inv.cfg.Concurrency)
		if err != nil {
			return err
		}
		defer pool.Close()
		_, err = runOnePass(ctx, pool, inv.stdout, opts)
		return passExit(err)
	}
}
