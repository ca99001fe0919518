package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/db"
)

func runCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"run takes no arguments"}
		}
		start := time.Now()
		embedder, err := newEmbedder(inv.cfg, inv.log)
		if err != nil {
			return err
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		es, err := embeddings.Embed(ctx, pool, embedder, embeddings.StepOptions{BatchSize: inv.cfg.EmbedBatchSize, Logger: inv.log})
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		fmt.Fprintf(inv.stdout, "run: embedded %d events with %s (%d unchanged text kept its vector) in %.1fs\n",
			es.Embedded, embedder.Model(), es.Refreshed, time.Since(start).Seconds())
		return nil
	}
}
