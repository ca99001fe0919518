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
	"github.com/relator/relator/internal/budget"
	"github.com/relator/relator/internal/price"
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
	// Prices turn the pass's tokens into its cost (Result.Cost); a model
	// missing from them makes the cost unknown.
	Prices price.Table
	// MaxTokens and MaxCost are the pass's budget (0: none): chat tokens
	// in plus out, and US dollars of chat and embeddings. Before a chat
	// call would cross it the pass stops cleanly, status runs.Budget, its
	// unfinished events pending. MaxCost needs a price for the chat model.
	MaxTokens int
	MaxCost   float64
	// Batches, when set, is the Batch API: the pass first collects the
	// batches the provider has ended, writing their results as its own.
	Batches *analyzer.Batcher
	// SubmitBatches has the pass send its analyses through Batches instead
	// of analysing them synchronously: it embeds, submits what it can
	// claim, and ends without waiting for the results (run --batch).
	SubmitBatches bool
	Logger        *slog.Logger
}

// Result is what a pass did, as committed.
type Result struct {
	RunID  int64
	Status string // runs.Done, Partial, Failed, Aborted or Budget
	runs.Totals
	// Left is, for a pass stopped at its budget, the events of its scope
	// still to be analysed: the next pass's work.
	Left int
	// Collected and Submitted are what the pass did with the Batch API.
	Collected analyzer.Collected
	Submitted analyzer.Submitted
	Took      time.Duration
}

// ErrFailures is returned (wrapped) by a pass that finished but could not
// analyse some events: they are recorded, and retried by later passes.
var ErrFailures = errors.New("some analyses failed")

// ErrAborted is returned by a pass stopped before it finished.
var ErrAborted = errors.New("pass interrupted")

// errBudget ends the work of a pass whose budget refused a call.
var errBudget = errors.New("stopped at budget")

// newBudget is the budget the options ask for, nil for none.
func newBudget(opts Options) (*budget.Budget, error) {
	if opts.MaxTokens <= 0 && opts.MaxCost <= 0 {
		return nil, nil
	}
	chat, ok := opts.Prices.Lookup(opts.Classifier.Model())
	if opts.MaxCost > 0 && !ok {
		return nil, fmt.Errorf("a cost budget needs the chat model's price: %s", price.Unknown(opts.Classifier.Model()))
	}
	if _, ok := opts.Prices.Lookup(opts.Embedder.Model()); opts.MaxCost > 0 && !ok {
		return nil, fmt.Errorf("a cost budget needs the embedding model's price: %s", price.Unknown(opts.Embedder.Model()))
	}
	return budget.New(budget.Options{MaxTokens: opts.MaxTokens, MaxCost: opts.MaxCost, Chat: chat}), nil
}

// Cost is what t's tokens cost at prices, or nil when a model with usage
// has no price.
func Cost(prices price.Table, embedder, classifier string, t runs.Totals) *float64 {
	var usd float64
	if t.EmbedTokens > 0 {
		p, ok := prices.Lookup(embedder)
		if !ok {
			return nil
		}
		usd += p.Cost(t.EmbedTokens, 0)
	}
	if t.TokensIn+t.TokensOut > 0 {
		p, ok := prices.Lookup(classifier)
		if !ok {
			return nil
		}
		usd += p.Cost(t.TokensIn, t.TokensOut)
	}
	return &usd
}

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
	b, err := newBudget(opts)
	if err != nil {
		res.Status, res.Took = runs.Failed, time.Since(start)
		return res, err
	}
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

	err = work(ctx, pool, opts, b, &res)
	stopHeartbeat()
	res.Took = time.Since(start)
	res.Cost = Cost(opts.Prices, opts.Embedder.Model(), opts.Classifier.Model(), res.Totals)
	switch {
	case errors.Is(err, errBudget):
		// A clean stop: what is left is pending for the next pass.
		res.Status, err = runs.Budget, nil
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
func work(ctx context.Context, pool *pgxpool.Pool, opts Options, b *budget.Budget, res *Result) error {
	a := opts.Analysis
	a.Stop, a.Observe, a.RunID, a.Logger = opts.Stop, opts.Observe, res.RunID, opts.Logger
	if b != nil {
		a.Budget = b
	}
	embedPrice, _ := opts.Prices.Lookup(opts.Embedder.Model())
	var err error
	if a.PassStart, err = analyzer.Now(ctx, pool); err != nil {
		return err
	}
	if opts.SubmitBatches && opts.Batches == nil {
		return errors.New("batch submission without a batch api")
	}
	if opts.Batches != nil {
		c, err := opts.Batches.Collect(ctx, pool, a)
		res.Collected = c
		res.Stats.Merge(c.Stats)
		res.Released += c.Returned
		if err != nil {
			return fmt.Errorf("collect batches: %w", err)
		}
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
		res.EmbedRequests += es.Requests
		res.EmbedTokens += es.Tokens
		if b != nil {
			b.Charge(embedPrice.Cost(es.Tokens, 0))
		}
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
		if opts.SubmitBatches {
			sub, err := opts.Batches.Submit(ctx, pool, a)
			res.Submitted = sub
			res.Stats.Merge(sub.Stats)
			if err != nil {
				return fmt.Errorf("submit batches: %w", err)
			}
			return nil
		}
		st, err := analyzer.Analyze(ctx, pool, opts.Classifier, a)
		res.Stats.Merge(st)
		if err != nil {
			return fmt.Errorf("analyse: %w", err)
		}
		if stopped(opts.Stop) {
			return ErrAborted
		}
		if b != nil && b.Exhausted() {
			tokens, usd := b.Used()
			rem, err := analyzer.RemainingWork(ctx, pool, opts.Classifier, a)
			if err != nil {
				return err
			}
			res.Left = rem.Events
			opts.Logger.Info("budget reached: no new claims, the rest stays pending", "chat_tokens", tokens, "usd", price.USD(usd),
				"max_tokens", opts.MaxTokens, "max_cost", opts.MaxCost, "events_left", rem.Events)
			return errBudget
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
