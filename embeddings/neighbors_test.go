package embeddings_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/devset"
	"github.com/relator/relator/internal/pgtest"
)

// loadVectors returns the events with a vector of model, in prior order,
// and their vectors.
func loadVectors(t *testing.T, pool *pgxpool.Pool, model string) ([]events.Event, [][]float32) {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT event_id, source_id, occurred_at, embedding FROM embeddings WHERE model = $1 ORDER BY occurred_at, source_id`, model)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var evs []events.Event
	var vecs [][]float32
	for rows.Next() {
		var e events.Event
		var v pgvector.Vector
		if err := rows.Scan(&e.ID, &e.SourceID, &e.OccurredAt, &v); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		vecs = append(vecs, v.Slice())
	}
	return evs, vecs
}

// TestNeighborsArePriorsAndMatchExactSearch checks every event of the dev
// set: candidates are strictly prior, the best first, and the index search
// agrees with an exact search done here in Go.
func TestNeighborsArePriorsAndMatchExactSearch(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	importFile(t, pool, devset.Path)
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	all, vecs := loadVectors(t, pool, e.Model())
	const k = 15
	var agree, total int
	for i, q := range all {
		got, err := embeddings.Neighbors(ctx, pool, e.Model(), q.ID, embeddings.SearchOptions{K: k})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != min(k, i) {
			t.Fatalf("event %s (%d priors): %d neighbors", q.SourceID, i, len(got))
		}
		prior := map[int64]bool{}
		for _, p := range all[:i] {
			prior[p.ID] = true
		}
		for _, n := range got {
			if !prior[n.EventID] {
				t.Fatalf("event %s: neighbor %d is not a prior", q.SourceID, n.EventID)
			}
		}
		// The exact top-P pool in Go, with database ids (Rerank's last tie
		// breaker), reranked the same way.
		exact := devset.ExactPriors(vecs, all, i, devset.PoolSize(k))
		for j, n := range exact {
			exact[j].EventID = all[n.EventID].ID
		}
		want := map[int64]bool{}
		for _, n := range embeddings.Rerank(q.OccurredAt, exact, k) {
			want[n.EventID] = true
		}
		for _, n := range got {
			total++
			if want[n.EventID] {
				agree++
			}
		}
	}
	if recall := float64(agree) / float64(total); recall < 0.98 {
		t.Fatalf("index search agrees with exact search on %.3f of neighbors; want ≥ 0.98", recall)
	}
}

func TestNeighborsWindowAndErrors(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	importString(t, pool, `{"id":"a","occurred_at":"2015-01-01","summary":"Hungary closes its border with Serbia to migrants."}
{"id":"b","occurred_at":"2015-09-01","summary":"Hungary builds a fence on its border with Serbia against migrants."}
{"id":"c","occurred_at":"2015-09-02","summary":"Hungary's border with Serbia: migrants stranded at the fence."}
{"id":"d","occurred_at":"2015-09-02","summary":"Volcano erupts in Chile."}
`)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _ := events.BySourceID(ctx, pool, "c")
	ids := func(ns []embeddings.Neighbor) []int64 {
		var out []int64
		for _, n := range ns {
			out = append(out, n.EventID)
		}
		return out
	}
	all, err := embeddings.Neighbors(ctx, pool, e.Model(), c.ID, embeddings.SearchOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := events.BySourceID(ctx, pool, "a")
	b, _ := events.BySourceID(ctx, pool, "b")
	if got := ids(all); len(got) != 2 || !slices.Contains(got, a.ID) || !slices.Contains(got, b.ID) {
		t.Fatalf("c's priors = %v; want a and b (d is later in id order on the same day)", got)
	}
	recent, err := embeddings.Neighbors(ctx, pool, e.Model(), c.ID, embeddings.SearchOptions{K: 5, Window: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(recent); len(got) != 1 || got[0] != b.ID {
		t.Fatalf("within 30 days: %v; want only b", got)
	}
	if _, err := embeddings.Neighbors(ctx, pool, "no-such-model", c.ID, embeddings.SearchOptions{}); err == nil ||
		!strings.Contains(err.Error(), "no vector") {
		t.Fatalf("unknown model: %v", err)
	}
}

// TestNeighborsUseTheHNSWIndex checks the plan of the search query on a
// table large enough that an index pays: the partial, per-model HNSW index
// must serve it. (On a few hundred rows the planner rightly prefers a scan.)
func TestNeighborsUseTheHNSWIndex(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	const model, dims = "random-64", 64
	if _, err := pool.Exec(ctx, `
		INSERT INTO events (source_id, occurred_at, summary, content_hash)
		SELECT 'e' || i, timestamptz '2020-01-01' + i * interval '1 hour', 'event ' || i, '\x00'
		  FROM generate_series(1, 20000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO embeddings (event_id, model, dimensions, embedding, text_hash, event_hash, occurred_at, source_id)
		SELECT id, $1, $2, array(SELECT random() - 0.5 FROM generate_series(1, $2) WHERE id IS NOT NULL)::vector,
		       '\x00', content_hash, occurred_at, source_id
		  FROM events`, model, dims); err != nil {
		t.Fatal(err)
	}
	if err := embeddings.EnsureIndex(ctx, pool, model, dims, embeddings.IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE embeddings`); err != nil {
		t.Fatal(err)
	}
	plan, err := embeddings.ExplainSearch(ctx, pool, model)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Index Scan using embeddings_hnsw_") {
		t.Fatalf("search does not use the HNSW index:\n%s", plan)
	}
}
