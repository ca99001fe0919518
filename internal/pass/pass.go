// Package pass is one pass of relator's job — embed what is pending, then
// analyse what is pending, recorded in the runs table — as `relator run`,
// `relator backfill` and every tick of `relator schedule` do it.
//
// A pass ends when no work of its scope is left, not when this process
// finds nothing to claim: while other processes hold events, or embed the
// priors an event waits for, it waits and looks again, and it takes over
// the events of a process that died once their leases run out.
package pass

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/runs"
)

// Options configures a pass.
type Options struct {
	// Command is recorded in the runs table: run, backfill, schedule, ….
	Command string
	// Params are recorded with the run (a backfill's range).
	Params     map[string]any
	Embedder   embeddings.Embedder
	Classifier analyzer.Classifier
	// EmbedBatch is how many events are embedded per transaction.
	EmbedBatch int
	// Index are the HNSW build parameters of indexes the pass builds.
	Index embeddings.IndexOptions
	// Analysis carries the analysis settings: search, concurrency, lease,
	// attempts, range, re-analysis, limit. Its Stop, Observe, RunID and
	// PassStart are set by the pass.
	Analysis analyzer.Options
	// DeferIndexAt, when positive, builds the HNSW index after the
	// embedding instead of before it when at least this many events wait
	// for a vector and they are at least half as many as those with one:
	// building the graph once costs about a third of inserting into it row
	// by row (scripts/bulk-index-bench.sh), so a rebuild pays off until the
	// history is twice the new load.
	DeferIndexAt int
	// Poll is how often a pass waiting for other processes looks again.
	// Default 1s.
	Poll time.Duration
	// Stop, when closed, ends the pass gracefully: no new claims, the
	// analyses in flight finish (until ctx is cancelled), the run is
	// recorded as aborted.
	Stop <-chan struct{}
	// Observe is told of every analysed event (progress, metrics).
	Observe func(analyzer.Outcome)
	// Embedded is told of every committed embedding batch.
	Embedded func(n int)
	Logger   *slog.Logger
}

// Result is what a pass did, as committed.
type Result struct {
	RunID  int64
	Status string // runs.Done, Partial, Failed or Aborted
	runs.Totals
	Took time.Duration
}

// ErrFailures is returned (wrapped) by a pass that finished but could not
// analyse some events: they are recorded, and retried by later passes.
var ErrFailures = errors.New("some analyses failed")

// ErrAborted is returned by a pass stopped before it finished.
var ErrAborted = errors.New("pass interrupted")

// Run does one pass.
func Run(ctx context.Context, pool *pgxpool.Pool, opts Options) (Result, error) {
	start := time.Now()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	var res Result
	id, err := runs.Start(ctx, pool, runs.Info{
		Command: opts.Command, Params: opts.Params, Embedder: opts.Embedder.Model(),
		Classifier: opts.Classifier.Model(), PromptVersion: opts.Classifier.PromptVersion(),
	})
	if err != nil {
		res.Status, res.Took = runs.Failed, time.Since(start)
		return res, err
	}
	res.RunID = id
	hbCtx, stopHeartbeat := context.WithCancel(context.WithoutCancel(ctx))
	go runs.Heartbeat(hbCtx, pool, id)

	err = work(ctx, pool, opts, &res)
	stopHeartbeat()
	res.Took = time.Since(start)
	switch {
	case err == nil && res.Failed+res.Dead > 0:
		res.Status = runs.Partial
		err = fmt.Errorf("%w: %d failed, %d dead-lettered (relator status lists them)", ErrFailures, res.Failed, res.Dead)
	case err == nil:
		res.Status = runs.Done
	case errors.Is(err, ErrAborted) || ctx.Err() != nil:
		res.Status = runs.Aborted
		err = ErrAborted
	default:
		res.Status = runs.Failed
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := runs.Finish(wctx, pool, id, res.Status, res.Totals, err); ferr != nil {
		opts.Logger.Error("record run end", "run", id, "err", ferr)
	}
	if _, rerr := runs.Reap(wctx, pool); rerr != nil {
		opts.Logger.Warn("close dead runs", "err", rerr)
	}
	return res, err
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// work embeds and analyses until nothing of the pass's scope is left.
func work(ctx context.Context, pool *pgxpool.Pool, opts Options, res *Result) error {
	a := opts.Analysis
	a.Stop, a.Observe, a.RunID, a.Logger = opts.Stop, opts.Observe, res.RunID, opts.Logger
	var err error
	if a.PassStart, err = analyzer.Now(ctx, pool); err != nil {
		return err
	}
	deferIndex := false
	if opts.DeferIndexAt > 0 {
		n, err := embeddings.Pending(ctx, pool, opts.Embedder.Model(), a.To)
		if err != nil {
			return err
		}
		if n >= opts.DeferIndexAt {
			have, err := embeddings.Count(ctx, pool, opts.Embedder.Model())
			if err != nil {
				return err
			}
			deferIndex = have <= 2*n
		}
		if deferIndex {
			opts.Logger.Info("bulk load: building the HNSW index after embedding", "pending", n)
		}
	}
	limit := a.Limit
	var waitingSince time.Time
	for {
		es, err := embeddings.Embed(ctx, pool, opts.Embedder, embeddings.StepOptions{
			BatchSize: opts.EmbedBatch, Before: a.To, DeferIndex: deferIndex, Stop: opts.Stop, Index: opts.Index,
			Logger: opts.Logger, Committed: opts.Embedded,
		})
		deferIndex = false
		res.Embedded += es.Embedded
		res.Refreshed += es.Refreshed
		res.Featureless += es.Featureless
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if stopped(opts.Stop) {
			return ErrAborted
		}
		if limit > 0 {
			a.Limit = limit - res.Analysed - res.Failed - res.Dead
		}
		st, err := analyzer.Analyze(ctx, pool, opts.Classifier, a)
		res.Stats.Merge(st)
		if err != nil {
			return fmt.Errorf("analyse: %w", err)
		}
		if stopped(opts.Stop) {
			return ErrAborted
		}
		if limit > 0 && res.Analysed+res.Failed+res.Dead >= limit {
			return nil
		}
		rem, err := analyzer.RemainingWork(ctx, pool, opts.Classifier, a)
		if err != nil {
			return err
		}
		if rem.Events == 0 {
			return nil
		}
		if waitingSince.IsZero() || time.Since(waitingSince) > 15*time.Second {
			waitingSince = time.Now()
			args := []any{"events", rem.Events, "claimed_by_others", rem.Leased}
			if rem.Leased > 0 {
				// A process that died holds its claims until their lease
				// runs out; then this one takes them over.
				args = append(args, "leases_end_by", rem.LeaseEnds.Format(time.RFC3339))
			}
			opts.Logger.Info("waiting for other processes: events they hold, or whose priors they are embedding", args...)
		}
		select {
		case <-time.After(opts.Poll):
		case <-opts.Stop:
			return ErrAborted
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
