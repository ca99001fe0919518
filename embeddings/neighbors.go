package embeddings

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// SearchOptions configures Neighbors.
type SearchOptions struct {
	// K is how many prior events to return. Default 15.
	K int
	// Window, when positive, keeps only priors that occurred at most this
	// long before the event.
	Window time.Duration
	// Pool is how many nearest priors the index returns for Rerank to
	// choose K from. Default max(4K, 60).
	Pool int
}

func (o SearchOptions) withDefaults() SearchOptions {
	if o.K <= 0 {
		o.K = 15
	}
	if o.Pool < o.K {
		o.Pool = max(4*o.K, 60)
	}
	return o
}

// ErrNoVector is returned by Neighbors for an event without a current
// vector of the model: run the embedding step first.
var ErrNoVector = errors.New("event has no vector of this model")

// Querier is what Neighbors needs: a pool, connection or transaction on
// which it may begin a (sub)transaction.
type Querier interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Neighbors returns the K nearest prior events of the event eventID — those
// earlier in (occurred_at, source_id) order — by cosine similarity of model's
// vectors, through that model's HNSW index, best first.
//
// pgvector 0.8's iterative index scan keeps reading the graph until enough
// rows pass the prior-only filter. Where it still comes back short (an early
// event in a large history, with few priors among many later vectors), the
// search is repeated exactly over the priors, which are then few.
func Neighbors(ctx context.Context, q Querier, model string, eventID int64, opts SearchOptions) ([]Neighbor, error) {
	opts = opts.withDefaults()
	var out []Neighbor
	err := pgx.BeginFunc(ctx, q, func(tx pgx.Tx) error {
		var (
			vec      pgvector.Vector
			dims     int
			at       time.Time
			sourceID string
		)
		err := tx.QueryRow(ctx, `
			SELECT v.embedding, v.dimensions, v.occurred_at, v.source_id
			  FROM embeddings v JOIN events e ON e.id = v.event_id
			 WHERE v.event_id = $1 AND v.model = $2 AND v.event_hash = e.content_hash`,
			eventID, model).Scan(&vec, &dims, &at, &sourceID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: event %d, model %s", ErrNoVector, eventID, model)
		}
		if err != nil {
			return fmt.Errorf("read query vector: %w", err)
		}
		s := space{model, dims}
		var from any // lower time bound, or NULL
		if opts.Window > 0 {
			from = at.Add(-opts.Window)
		}

		if err := setSearchOptions(ctx, tx, opts.Pool); err != nil {
			return err
		}
		search := searchSQL(s)
		pool, err := collectNeighbors(tx.Query(ctx, search, vec, model, at, sourceID, from, opts.Pool))
		if err != nil {
			return err
		}
		if len(pool) < opts.Pool && s.indexed() {
			// Short: either there are few priors, or the index scan gave up
			// (hnsw.max_scan_tuples). Search the priors exactly.
			if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off`); err != nil {
				return fmt.Errorf("set search options: %w", err)
			}
			exact, err := collectNeighbors(tx.Query(ctx, search, vec, model, at, sourceID, from, opts.Pool))
			if err != nil {
				return err
			}
			pool = exact
		}
		// relaxed_order may return rows slightly out of order.
		sort.SliceStable(pool, func(i, j int) bool { return pool[i].Similarity > pool[j].Similarity })
		out = Rerank(at, pool, opts.K)
		return nil
	})
	return out, err
}

func collectNeighbors(rows pgx.Rows, err error) ([]Neighbor, error) {
	if err != nil {
		return nil, fmt.Errorf("search neighbors: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Neighbor, error) {
		var n Neighbor
		err := row.Scan(&n.EventID, &n.OccurredAt, &n.Similarity)
		n.OccurredAt = n.OccurredAt.UTC()
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("search neighbors: %w", err)
	}
	return list, nil
}

// setSearchOptions sets, for the rest of tx, what the index search needs.
// The partial index matches only a plan made for this model's literal value,
// hence a custom plan for every execution; ef_search sizes the candidate
// list; the iterative scan keeps reading until enough rows pass the filter.
func setSearchOptions(ctx context.Context, tx pgx.Tx, pool int) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		SET LOCAL plan_cache_mode = force_custom_plan;
		SET LOCAL hnsw.ef_search = %d;
		SET LOCAL hnsw.iterative_scan = relaxed_order`, max(2*pool, 100)))
	if err != nil {
		return fmt.Errorf("set search options: %w", err)
	}
	return nil
}

// searchSQL is the prior-only nearest-neighbour query of space s. Its
// parameters: $1 the query vector, $2 the model, $3 and $4 the event's order
// key, $5 the earliest time allowed (or NULL), $6 the limit.
func searchSQL(s space) string {
	dist := s.cast("embedding") + " <=> " + s.cast("$1::vector")
	return fmt.Sprintf(`
		SELECT event_id, occurred_at, 1 - (%s) AS similarity
		  FROM embeddings
		 WHERE model = $2 AND (occurred_at, source_id) < ($3, $4)
		   AND ($5::timestamptz IS NULL OR occurred_at >= $5)
		 ORDER BY %s
		 LIMIT $6`, dist, dist)
}
