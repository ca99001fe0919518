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
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		p, err := runPass(ctx, pool, inv.cfg, inv.log, "run")
		if p.embedder != nil && p.classifier != nil {
			p.summary(inv.stdout, "run")
		}
		return err
	}
}
