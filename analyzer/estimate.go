package analyzer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
)

// Prompter is a classifier that can measure the prompt of its first call
// for an event without making it: what an estimate counts. The offline
// classifier makes no calls and is none.
type Prompter interface {
	// PromptTokens is the tokens of the first call's prompt for newEvent
	// and candidates, rendered and fitted as Classify would; 0 when
	// Classify would make no call.
	PromptTokens(newEvent events.Event, candidates []Candidate) (int, error)
}

// Estimate is what Analyze would send to the model for the work waiting
// now, counted without sending anything.
type Estimate struct {
	Events int // events to analyse
	Calls  int // first calls: events with at least one candidate (repair calls are not foreseen)
	// TokensIn is the prompts' tokens, rendered and tokenized;
	// TokensOut the expected output, ExpectedOutputTokens per call.
	TokensIn, TokensOut int
	// StandIn counts the events that have, or whose priors have, no vector
	// yet, so their candidates cannot be retrieved: their prompts were
	// rendered with their K latest priors (within the window) instead.
	StandIn int
}

// EstimateAnalysis counts what Analyze with opts (its scope, limit,
// PassStart, MaxAttempts and search) would send under c: for each event
// that needs analysis and is not claimed by a live process, its prompt
// with its real candidates where the event and every prior have a vector,
// else with stand-in candidates (see Estimate.StandIn). It reads only.
func EstimateAnalysis(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options) (Estimate, error) {
	opts = opts.withDefaults()
	if opts.PassStart.IsZero() {
		var err error
		if opts.PassStart, err = Now(ctx, pool); err != nil {
			return Estimate{}, err
		}
	}
	sc := opts.scope(opts.PassStart)
	var limit any
	if opts.Limit > 0 {
		limit = opts.Limit
	}
	rows, err := pool.Query(ctx, fmt.Sprintf(`
		SELECT e.id, e.occurred_at, e.source_id
		  FROM events e
		  LEFT JOIN event_analyses a ON a.event_id = e.id AND a.model = $1 AND a.prompt_version = $2
		 WHERE (a.event_id IS NULL OR %s)
		   AND ($6::timestamptz IS NULL OR e.occurred_at >= $6)
		   AND ($7::timestamptz IS NULL OR e.occurred_at < $7)
		 ORDER BY e.occurred_at, e.source_id
		 LIMIT $8`, needsAnalysis(needs{"e.content_hash", "$3", "$4", "$5"})),
		c.Model(), c.PromptVersion(), opts.MaxAttempts, opts.PassStart, nullTime(sc.reanalyseBefore),
		nullTime(sc.from), nullTime(sc.to), limit)
	if err != nil {
		return Estimate{}, fmt.Errorf("list work to estimate: %w", err)
	}
	type todo struct {
		id  int64
		key orderKey
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (todo, error) {
		var t todo
		return t, row.Scan(&t.id, &t.key.at, &t.key.id)
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("list work to estimate: %w", err)
	}
	mark, err := watermark(ctx, pool, opts.EmbeddingModel)
	if err != nil {
		return Estimate{}, err
	}
	p, measures := c.(Prompter)
	est := Estimate{Events: len(list)}
	for _, t := range list {
		ids, standIn, err := estimateCandidates(ctx, pool, opts, t.id, t.key, mark)
		if err != nil {
			return est, err
		}
		if standIn {
			est.StandIn++
		}
		if !measures || len(ids) == 0 {
			continue
		}
		evs, err := events.ByIDs(ctx, pool, append([]int64{t.id}, ids...))
		if err != nil {
			return est, err
		}
		cands := make([]Candidate, 0, len(ids))
		for _, id := range ids {
			if ev, ok := evs[id]; ok {
				cands = append(cands, Candidate{Number: len(cands) + 1, Event: ev})
			}
		}
		n, err := p.PromptTokens(evs[t.id], cands)
		if err != nil {
			return est, fmt.Errorf("estimate event %s: %w", t.key.id, err)
		}
		if n > 0 {
			est.Calls++
			est.TokensIn += n
			est.TokensOut += ExpectedOutputTokens
		}
	}
	return est, nil
}

// estimateCandidates returns an event's candidates, best first: those the
// analysis would retrieve when it and its priors all have vectors (it lies
// before the watermark), else its K latest priors as stand-ins.
func estimateCandidates(ctx context.Context, pool *pgxpool.Pool, opts Options, id int64, at orderKey, mark orderKey) ([]int64, bool, error) {
	ready := !mark.set() || at.at.Before(mark.at) || at.at.Equal(mark.at) && at.id < mark.id
	if ready {
		ns, err := embeddings.Neighbors(ctx, pool, opts.EmbeddingModel, id, opts.Search)
		if err != nil {
			return nil, false, fmt.Errorf("retrieve candidates: %w", err)
		}
		ids := make([]int64, len(ns))
		for i, n := range ns {
			ids[i] = n.EventID
		}
		return ids, false, nil
	}
	k := opts.Search.K
	if k <= 0 {
		k = 15
	}
	var from any
	if opts.Search.Window > 0 {
		from = at.at.Add(-opts.Search.Window)
	}
	rows, err := pool.Query(ctx, `
		SELECT id FROM events
		 WHERE (occurred_at, source_id) < ($1, $2::text) AND ($3::timestamptz IS NULL OR occurred_at >= $3)
		 ORDER BY occurred_at DESC, source_id DESC
		 LIMIT $4`, at.at, at.id, from, k)
	if err != nil {
		return nil, true, fmt.Errorf("stand-in candidates: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, true, fmt.Errorf("stand-in candidates: %w", err)
	}
	return ids, true, nil
}
