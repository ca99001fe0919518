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
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/price"
	"github.com/relator/relator/runs"
)

// passOptions builds the options of a pass on pool from the configuration,
// with the configured providers; the classifier's model calls are logged in
// pool's database.
func passOptions(inv invocation, command string, pool *pgxpool.Pool) (pass.Options, error) {
	cfg := inv.cfg
	e, err := newEmbedder(cfg, inv.log)
	if err != nil {
		return pass.Options{}, err
	}
	c, err := newClassifier(cfg, inv.log, calllog.New(pool))
	if err != nil {
		return pass.Options{}, err
	}
	batches, err := newBatcher(cfg, inv.log, c)
	if err != nil {
		return pass.Options{}, err
	}
	return pass.Options{
		Batches: batches,
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
		Prices:       cfg.Prices,
		MaxTokens:    cfg.MaxTokens,
		MaxCost:      cfg.MaxCost,
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

// openPass opens a pool sized for a pass and builds the pass's options.
func openPass(ctx context.Context, inv invocation, command string) (pass.Options, *pgxpool.Pool, error) {
	pool, err := db.OpenFor(ctx, inv.cfg.DatabaseURL, inv.cfg.Concurrency)
	if err != nil {
		return pass.Options{}, nil, err
	}
	opts, err := passOptions(inv, command, pool)
	if err != nil {
		pool.Close()
		return opts, nil, err
	}
	return opts, pool, nil
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
	if n := len(r.Collected.Finished); n > 0 {
		extra += fmt.Sprintf(", %d batches collected (%s)", n, strings.Join(r.Collected.Finished, ", "))
	}
	if opts.SubmitBatches {
		ids := "none"
		if len(r.Submitted.Batches) > 0 {
			ids = strings.Join(r.Submitted.Batches, ", ")
		}
		extra += fmt.Sprintf(", %d events sent in %d batches (%s)", r.Submitted.Events, len(r.Submitted.Batches), ids)
	}
	if r.Deferred > 0 {
		extra += fmt.Sprintf(", %d left pending at the budget", r.Deferred)
	}
	status := r.Status
	if status == runs.Budget {
		status = "stopped at budget"
		extra += fmt.Sprintf(", %d events left for the next pass", r.Left)
	}
	fmt.Fprintf(w, "%s: run %d %s: embedded %d events with %s (%d requests, %d tokens)%s, analysed %d with %s (%d failed%s), wrote %d relations%s, "+
		"%d model calls, %d tokens in / %d out, %d invalid items dropped, %d answers reused, %s, in %.1fs\n",
		opts.Command, r.RunID, status, r.Embedded, opts.Embedder.Model(), r.EmbedRequests, r.EmbedTokens, featureless, r.Analysed, opts.Classifier.Model(),
		r.Failed, extra, r.Written, byType, r.Calls, r.TokensIn, r.TokensOut, r.Invalid, r.Reused, costText(opts, r), r.Took.Seconds())
}

// costText shows a pass's cost, or which model's price is missing.
func costText(opts pass.Options, r pass.Result) string {
	if r.Cost != nil {
		return "cost " + price.USD(*r.Cost)
	}
	if _, ok := opts.Prices.Lookup(opts.Embedder.Model()); !ok && r.EmbedTokens > 0 {
		return price.Unknown(opts.Embedder.Model())
	}
	return price.Unknown(opts.Classifier.Model())
}
