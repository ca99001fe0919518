package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/config"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pass"
)

// passOptions builds the options of a pass from the configuration, with the
// configured providers.
func passOptions(inv invocation, command string) (pass.Options, error) {
	cfg := inv.cfg
	e, err := newEmbedder(cfg, inv.log)
	if err != nil {
		return pass.Options{}, err
	}
	c, err := newClassifier(cfg, inv.log)
	if err != nil {
		return pass.Options{}, err
	}
	return pass.Options{
		Command: command, Embedder: e, Classifier: c, EmbedBatch: cfg.EmbedBatchSize, Index: indexOptions(cfg),
		Analysis: analyzer.Options{
			EmbeddingModel: e.Model(),
			Search:         searchOptions(cfg),
			Concurrency:    cfg.Concurrency,
			Lease:          cfg.Lease,
			MaxAttempts:    cfg.MaxAttempts,
			ReaskRejected:  cfg.ReaskRejected,
		},
		DeferIndexAt: cfg.BulkIndexAt,
		Stop:         inv.stop,
		Logger:       inv.log,
	}, nil
}

// searchOptions is the candidate search the configuration asks for.
func searchOptions(cfg config.Config) embeddings.SearchOptions {
	return embeddings.SearchOptions{K: cfg.TopK, Window: cfg.Window, EfSearch: cfg.HNSWEfSearch}
}

// indexOptions are the HNSW build parameters the configuration asks for.
func indexOptions(cfg config.Config) embeddings.IndexOptions {
	return embeddings.IndexOptions{M: cfg.HNSWM, EfConstruction: cfg.HNSWEfConstruction}
}

// openPass builds a pass's options and opens a pool sized for it.
func openPass(ctx context.Context, inv invocation, command string) (pass.Options, *pgxpool.Pool, error) {
	opts, err := passOptions(inv, command)
	if err != nil {
		return opts, nil, err
	}
	pool, err := db.OpenFor(ctx, inv.cfg.DatabaseURL, inv.cfg.Concurrency)
	return opts, pool, err
}

// passExit maps how a pass ended to the command's error: a pass with failed
// events exits 3, an interrupted one 130, so that cron and Kubernetes see
// both as failures while scripts can tell them apart.
func passExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pass.ErrFailures):
		return exitError{3, err}
	case errors.Is(err, pass.ErrAborted):
		return exitError{130, fmt.Errorf("%w; what was not finished is pending for the next run", err)}
	case errors.Is(err, openaiclient.ErrFatal):
		return fmt.Errorf("%w; the pass stopped at once, and what it had not finished is pending, not failed", err)
	}
	return err
}

// runOnePass does a pass and prints its summary line.
func runOnePass(ctx context.Context, pool *pgxpool.Pool, w io.Writer, opts pass.Options) (pass.Result, error) {
	res, err := pass.Run(ctx, pool, opts)
	summary(w, opts, res)
	return res, err
}

// summary prints the pass's one-line summary: what was committed.
func summary(w io.Writer, opts pass.Options, r pass.Result) {
	var types []string
	for _, typ := range r.Types() {
		types = append(types, fmt.Sprintf("%s %d", typ, r.ByType[typ]))
	}
	byType := ""
	if len(types) > 0 {
		byType = " (" + strings.Join(types, ", ") + ")"
	}
	featureless := ""
	if r.Featureless > 0 {
		featureless = fmt.Sprintf(" (%d featureless events skipped: no vector, no model call)", r.Featureless)
	}
	extra := ""
	if r.Dead > 0 {
		extra += fmt.Sprintf(", %d dead-lettered", r.Dead)
	}
	if r.Lost > 0 {
		extra += fmt.Sprintf(", %d taken over by other processes", r.Lost)
	}
	if r.TakenOver > 0 {
		extra += fmt.Sprintf(", %d taken over from stopped processes", r.TakenOver)
	}
	if r.Released > 0 {
		extra += fmt.Sprintf(", %d released unfinished", r.Released)
	}
	fmt.Fprintf(w, "%s: run %d %s: embedded %d events with %s%s, analysed %d with %s (%d failed%s), wrote %d relations%s, "+
		"%d model calls, %d tokens in / %d out, %d invalid items dropped, in %.1fs\n",
		opts.Command, r.RunID, r.Status, r.Embedded, opts.Embedder.Model(), featureless, r.Analysed, opts.Classifier.Model(), r.Failed, extra,
		r.Written, byType, r.Calls, r.TokensIn, r.TokensOut, r.Invalid, r.Took.Seconds())
}
