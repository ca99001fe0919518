package embeddings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/events"
)

// Estimator is an embedder that can tell what embedding texts would take
// — requests and input tokens — without sending them.
type Estimator interface {
	Estimate(texts []string) Usage
}

var _ Estimator = (*OpenAI)(nil)

// Estimate counts the requests and tokens Embed would send for texts: each
// text as it would be sent (truncated to MaxInputTokens) and tokenized,
// batched as Embed batches them. Nothing is sent.
func (e *OpenAI) Estimate(texts []string) Usage {
	if len(texts) == 0 {
		return Usage{}
	}
	counts := make([]int, len(texts))
	var u Usage
	for i, t := range texts {
		_, counts[i], _ = e.prepare(t)
		u.Tokens += counts[i]
	}
	u.Requests = len(e.batches(counts))
	return u
}

// StepEstimate is what Embed would do now.
type StepEstimate struct {
	Events int // events whose text would be embedded
	Usage      // the requests and tokens it would take (0 for an embedder that is no Estimator, such as the offline one)
}

// EstimateStep counts what Embed with opts would send for the events
// waiting for a vector of e's model, batch by batch as Embed makes them,
// without sending anything or writing anything. Events whose embedded text
// is unchanged (their vector is kept) are not counted.
func EstimateStep(ctx context.Context, pool *pgxpool.Pool, e Embedder, opts StepOptions) (StepEstimate, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	var until any
	if !opts.Before.IsZero() {
		until = opts.Before
	}
	rows, err := pool.Query(ctx, `
		SELECT coalesce(e.title, ''), coalesce(e.summary, ''), coalesce(e.content, ''), e.actors, v.text_hash
		  FROM events e
		  LEFT JOIN embeddings v ON v.event_id = e.id AND v.model = $1
		 WHERE (v.event_id IS NULL OR v.event_hash <> e.content_hash)
		   AND ($2::timestamptz IS NULL OR e.occurred_at < $2)
		 ORDER BY e.occurred_at, e.source_id`, e.Model(), until)
	if err != nil {
		return StepEstimate{}, fmt.Errorf("select pending embeddings: %w", err)
	}
	type pending struct {
		text string
		kept bool // same text: the vector stays
	}
	texts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
		var d Document
		var actors []events.Actor
		var old []byte
		if err := row.Scan(&d.Title, &d.Summary, &d.Content, &actors, &old); err != nil {
			return pending{}, err
		}
		for _, a := range actors {
			d.Actors = append(d.Actors, a.Name)
		}
		text := Text(d)
		sum := sha256.Sum256([]byte(text))
		return pending{text, old != nil && bytes.Equal(old, sum[:])}, nil
	})
	if err != nil {
		return StepEstimate{}, fmt.Errorf("select pending embeddings: %w", err)
	}
	var est StepEstimate
	batch := make([]string, 0, opts.BatchSize)
	flush := func() {
		est.Events += len(batch)
		if m, ok := e.(Estimator); ok {
			u := m.Estimate(batch)
			est.Requests += u.Requests
			est.Tokens += u.Tokens
		}
		batch = batch[:0]
	}
	for _, t := range texts {
		if t.kept {
			continue
		}
		batch = append(batch, t.text)
		if len(batch) == opts.BatchSize {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return est, nil
}
