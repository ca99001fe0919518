package embeddings

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	// Pool is how many nearest priors the search returns for Rerank to
	// choose K from. Default K: Rerank orders by similarity alone, so
	// more would only make every index search longer.
	Pool int
	// Exact searches every prior, without the index: the reference the
	// index's recall is measured against (relator bench --knn).
	Exact bool
	// ExactBelow is the number of priors under which the search is exact:
	// an exact search reads every prior's vector, cheap for a few hundred
	// and slow for thousands, while the index scan must read past every
	// later event to find the few priors among them. Default 1000
	// (relator bench --knn: an exact search of 1,000 priors takes about
	// as long as an index search).
	ExactBelow int
	// EfSearch is hnsw.ef_search, the candidate list of an index search:
	// larger finds more of the true neighbours and takes longer. Default
	// max(2 × Pool, 100).
	EfSearch int
}

func (o SearchOptions) withDefaults() SearchOptions {
	if o.K <= 0 {
		o.K = 15
	}
	if o.Pool < o.K {
		o.Pool = o.K
	}
	if o.ExactBelow <= 0 {
		o.ExactBelow = 1000
	}
	if o.EfSearch <= 0 {
		o.EfSearch = max(2*o.Pool, 100)
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
// vectors, through that model's HNSW index, best first. A featureless
// event (its vector is all zeros, see StepStats.Featureless) has no
// neighbours and is no one's: cosine similarity is undefined for it.
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
			zero     bool // a featureless event's vector
			dims     int
			at       time.Time
			sourceID string
			priors   int
			from     *time.Time // lower time bound, or NULL
		)
		// The query vector and how many priors there are, counted only
		// up to ExactBelow: enough to choose the search.
		err := tx.QueryRow(ctx, `
			SELECT v.embedding, vector_norm(v.embedding) = 0, v.dimensions, v.occurred_at, v.source_id, v.occurred_at - $3::interval,
			       (SELECT count(*) FROM (
			            SELECT FROM embeddings p
			             WHERE p.model = $2 AND (p.occurred_at, p.source_id) < (v.occurred_at, v.source_id)
			               AND ($3::interval IS NULL OR p.occurred_at >= v.occurred_at - $3::interval)
			             LIMIT $4) c)
			  FROM embeddings v JOIN events e ON e.id = v.event_id
			 WHERE v.event_id = $1 AND v.model = $2 AND v.event_hash = e.content_hash`,
			eventID, model, window(opts.Window), opts.ExactBelow).Scan(&vec, &zero, &dims, &at, &sourceID, &from, &priors)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: event %d, model %s", ErrNoVector, eventID, model)
		}
		if err != nil {
			return fmt.Errorf("read query vector: %w", err)
		}
		if zero {
			return nil // no features, no direction: nothing is near it
		}
		s := space{model, dims}
		search := searchSQL(s)
		// relator chooses the search, not the planner, whose costs for the
		// two are close while their times are not: exact over few priors
		// (the b-tree on the order key finds them), the HNSW index over
		// many (where an exact search reads every prior's vector).
		exact := opts.Exact || !s.indexed() || priors < opts.ExactBelow
		pool, err := runSearch(ctx, tx, search, exact, opts, vec, model, at, sourceID, from)
		if err != nil {
			return err
		}
		if len(pool) < opts.Pool && !exact {
			// Short: the index scan gave up (hnsw.max_scan_tuples) before
			// it found enough priors among later events. Search exactly.
			if pool, err = runSearch(ctx, tx, search, true, opts, vec, model, at, sourceID, from); err != nil {
				return err
			}
		}
		// relaxed_order may return rows slightly out of order.
		sort.SliceStable(pool, func(i, j int) bool { return pool[i].Similarity > pool[j].Similarity })
		out = Rerank(at, pool, opts.K)
		return nil
	})
	return out, err
}

// searchSettings are the settings, for the rest of a transaction, of an
// exact or an index search: the candidate list of the index (ef_search) and
// its iterative scan, which keeps reading until enough rows pass the
// prior-only filter; for the index search, only the ordered HNSW scan is
// left to the planner (no sequential or bitmap scan, no sort of what
// another index returns); for the exact one, no index scan.
func searchSettings(exact bool, efSearch int) string {
	set := func(name, value string) string { return fmt.Sprintf("set_config('%s', '%s', true)", name, value) }
	s := []string{set("hnsw.ef_search", fmt.Sprint(efSearch)), set("hnsw.iterative_scan", "relaxed_order")}
	if exact {
		s = append(s, set("enable_indexscan", "off"))
	} else {
		s = append(s, set("enable_seqscan", "off"), set("enable_bitmapscan", "off"), set("enable_sort", "off"))
	}
	// One statement, so that it can share a round trip with the search.
	return "SELECT " + strings.Join(s, ", ")
}

// window is a search window as an interval parameter (NULL: none).
func window(d time.Duration) any {
	if d <= 0 {
		return nil
	}
	return d.String()
}

// runSearch runs the prior-only search in tx, exactly or through the HNSW
// index, in one round trip with its settings.
func runSearch(ctx context.Context, tx pgx.Tx, search string, exact bool, opts SearchOptions,
	vec pgvector.Vector, model string, at time.Time, sourceID string, from *time.Time) ([]Neighbor, error) {
	b := &pgx.Batch{}
	b.Queue(searchSettings(exact, opts.EfSearch))
	var list []Neighbor
	b.Queue(search, vec, model, at, sourceID, from, opts.Pool).Query(func(rows pgx.Rows) error {
		var err error
		list, err = collectNeighbors(rows, nil)
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("search neighbors: %w", err)
	}
	return list, nil
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
		   AND vector_norm(embedding) > 0
		 ORDER BY %s
		 LIMIT $6`, dist, dist)
}

// WithDefaults is o with every default filled in, as Neighbors uses it.
func (o SearchOptions) WithDefaults() SearchOptions { return o.withDefaults() }

// Opclass is the operator class of the HNSW index over vectors of dims.
func Opclass(dims int) string { return space{dims: dims}.opclass() }
