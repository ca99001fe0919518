package analyzer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
)

// Options configures Analyze.
type Options struct {
	// EmbeddingModel names the vectors candidates are retrieved by; only
	// events with a current vector of it are analysed.
	EmbeddingModel string
	// Search is the retrieval: K candidates, optional time window.
	Search embeddings.SearchOptions
	// Concurrency is how many events are classified at once: model calls
	// are slow, so they overlap. Default 4.
	Concurrency int
	// ClaimBatch is how many events one claim leases. Default 32.
	ClaimBatch int
	// Lease is how long a claim holds an event before another process may
	// take it over (a crashed run's events come back after it). Default 10m.
	Lease time.Duration
	// MaxAttempts bounds how often an event whose analysis fails is tried
	// again on later runs. Default 3.
	MaxAttempts int
	// RunID is stored with every relation written.
	RunID  int64
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 32
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Stats counts what Analyze did.
type Stats struct {
	Analysed  int // events whose analysis finished
	Failed    int // events whose analysis failed this run
	Written   int // relations inserted
	ByType    map[RelationType]int
	Calls     int // model calls
	TokensIn  int
	TokensOut int
	Invalid   int // model items dropped as invalid
}

func (s *Stats) add(r Result, written []written, inserted int) {
	s.Analysed++
	s.Written += inserted
	s.Calls += r.Calls
	s.TokensIn += r.TokensIn
	s.TokensOut += r.TokensOut
	s.Invalid += r.Invalid
	if s.ByType == nil {
		s.ByType = map[RelationType]int{}
	}
	for _, w := range written {
		s.ByType[w.Type]++
	}
}

// Types lists the relation types counted, in taxonomy order.
func (s Stats) Types() []RelationType {
	return slices.SortedFunc(maps.Keys(s.ByType), func(a, b RelationType) int { return order(a) - order(b) })
}

func order(t RelationType) int {
	return slices.IndexFunc(Taxonomy(), func(i TypeInfo) bool { return i.Type == t })
}

// Analyze classifies every event that needs it under c's model and prompt
// version — never analysed, or changed since — against its retrieved prior
// candidates, and writes each event's relations, with its "analysed" mark,
// in one transaction. Events are leased in batches, so several processes
// may analyse at once; a crash loses at most the events in flight, which
// come back when their lease expires.
//
// A classifier error fails that event (recorded, retried by later runs up to
// MaxAttempts) and the pass goes on; only database errors and cancellation
// end it early.
func Analyze(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options) (Stats, error) {
	opts = opts.withDefaults()
	k := key{c.Model(), c.PromptVersion()}
	var (
		mu    sync.Mutex
		stats Stats
	)
	var passStart time.Time // the database's clock, not ours
	if err := pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&passStart); err != nil {
		return stats, fmt.Errorf("read database time: %w", err)
	}
	for {
		claims, err := claimEvents(ctx, pool, k, opts.EmbeddingModel, opts.ClaimBatch, opts.Lease, opts.MaxAttempts, passStart)
		if err != nil {
			return stats, err
		}
		if len(claims) == 0 {
			return stats, nil
		}
		done := make([]bool, len(claims))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(opts.Concurrency)
		for i, cl := range claims {
			g.Go(func() error {
				result, rels, err := analyseOne(gctx, pool, c, opts, cl)
				if err != nil {
					if gctx.Err() != nil {
						return gctx.Err()
					}
					var fatal *dbError
					if errors.As(err, &fatal) {
						return err
					}
					opts.Logger.Warn("analysis failed", "event", cl.eventID, "err", err)
					done[i] = true
					mu.Lock()
					stats.Failed++
					stats.Calls += result.Calls
					stats.TokensIn += result.TokensIn
					stats.TokensOut += result.TokensOut
					mu.Unlock()
					return fail(gctx, pool, k, cl, err)
				}
				inserted, err := finish(gctx, pool, k, cl, opts.RunID, result, rels)
				if err != nil {
					return err
				}
				done[i] = true
				mu.Lock()
				stats.add(result, rels, inserted)
				mu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			var left []claim
			for i, cl := range claims {
				if !done[i] {
					left = append(left, cl)
				}
			}
			if rerr := release(context.WithoutCancel(ctx), pool, k, left); rerr != nil {
				opts.Logger.Error("release claims", "err", rerr)
			}
			return stats, err
		}
		opts.Logger.Debug("analysed batch", "events", len(claims), "total", stats.Analysed)
	}
}

// dbError marks a failure of relator's own storage, which ends the pass,
// as opposed to a classifier failure, which fails one event.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// analyseOne retrieves an event's candidates and classifies it.
func analyseOne(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options, cl claim) (Result, []written, error) {
	neighbors, err := embeddings.Neighbors(ctx, pool, opts.EmbeddingModel, cl.eventID, opts.Search)
	if err != nil {
		return Result{}, nil, &dbError{fmt.Errorf("retrieve candidates: %w", err)}
	}
	ids := []int64{cl.eventID}
	for _, n := range neighbors {
		ids = append(ids, n.EventID)
	}
	evs, err := events.ByIDs(ctx, pool, ids)
	if err != nil {
		return Result{}, nil, &dbError{err}
	}
	newEvent, ok := evs[cl.eventID]
	if !ok {
		return Result{}, nil, &dbError{fmt.Errorf("event %d vanished", cl.eventID)}
	}
	cands := make([]Candidate, 0, len(neighbors))
	for _, n := range neighbors {
		if ev, ok := evs[n.EventID]; ok {
			cands = append(cands, Candidate{Number: len(cands) + 1, Event: ev, Similarity: n.Similarity})
		}
	}
	if len(cands) == 0 {
		return Result{}, nil, nil // nothing to ask: no call
	}
	result, err := c.Classify(ctx, newEvent, cands)
	if err != nil {
		// The result still counts the calls and tokens the failure cost.
		return result, nil, fmt.Errorf("event %s: %w", newEvent.SourceID, err)
	}
	// The classifiers validate; this is the last line of defence before the
	// database, since nothing invalid may ever be written.
	rels := make([]written, 0, len(result.Relations))
	seen := map[int]bool{}
	for _, r := range result.Relations {
		if r.Number < 1 || r.Number > len(cands) || seen[r.Number] || !r.Type.Valid() ||
			validConfidence(r.Confidence) != nil || r.Rationale == "" || cands[r.Number-1].Event.ID == newEvent.ID {
			result.Invalid++
			continue
		}
		seen[r.Number] = true
		cand := cands[r.Number-1]
		rels = append(rels, written{Relation: r, priorID: cand.Event.ID, similarity: cand.Similarity})
	}
	return result, rels, nil
}
