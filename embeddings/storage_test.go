package embeddings_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// A vector of 1,024 dimensions is stored in its row, not in TOAST: exact
// prior searches read every prior's vector, and reassembling each one from
// TOAST was most of the database's work in analysis. One of 3,072 does not
// fit a page and still goes to TOAST, so large models work as before.
func TestVectorsAreStoredInTheRow(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	importString(t, pool, `{"id":"a","title":"Storm floods the delta","summary":"Rain.","occurred_at":"2015-09-01T00:00:00Z"}
{"id":"b","title":"Delta towns evacuated","summary":"Rain again.","occurred_at":"2015-09-02T00:00:00Z"}`)

	toasted := func() int {
		t.Helper()
		var toast string
		if err := pool.QueryRow(ctx, `SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'embeddings'::regclass`).Scan(&toast); err != nil {
			t.Fatal(err)
		}
		var n int
		// toast is a name PostgreSQL made (pg_toast.pg_toast_OID).
		if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(DISTINCT chunk_id) FROM %s`, toast)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	small := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 1024})
	if _, err := embeddings.Embed(ctx, pool, small, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := toasted(); n != 0 {
		t.Errorf("%d vectors of 1,024 dimensions are in TOAST, want every one in its row", n)
	}

	large := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 3072})
	if _, err := embeddings.Embed(ctx, pool, large, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := toasted(); n != 2 {
		t.Errorf("%d vectors in TOAST after embedding 2 events at 3,072 dimensions, want 2", n)
	}
}

// After a bulk load the prior count of a search reads only the b-tree: the
// step ends with VACUUM, which sets the visibility map of the new rows, so
// the index-only scan makes no heap fetch. A step below VacuumAt leaves
// that to autovacuum.
func TestBulkEmbeddingLeavesPriorCountsToTheIndex(t *testing.T) {
	ctx := context.Background()
	heapFetches := func(t *testing.T, vacuumAt int) int {
		t.Helper()
		pool := pgtest.New(t)
		importFile(t, pool, devSet)
		e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
		if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{VacuumAt: vacuumAt}); err != nil {
			t.Fatal(err)
		}
		var plan string
		// The prior count of Neighbors, for an event after the whole set,
		// through the b-tree as over a large table (428 rows alone would
		// be read sequentially).
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON)
				SELECT count(*) FROM (SELECT FROM embeddings p
				 WHERE p.model = $1 AND (p.occurred_at, p.source_id) < ('2100-01-01'::timestamptz, '') LIMIT 1000) c`, e.Model()).Scan(&plan)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, `"Index Only Scan"`) {
			t.Fatalf("the prior count is not an index-only scan:\n%s", plan)
		}
		var n int
		if _, err := fmt.Sscanf(plan[strings.Index(plan, `"Heap Fetches": `)+len(`"Heap Fetches": `):], "%d", &n); err != nil {
			t.Fatalf("no heap fetches in the plan: %v\n%s", err, plan)
		}
		return n
	}
	if n := heapFetches(t, 100); n != 0 {
		t.Errorf("after embedding 428 events with VacuumAt 100: %d heap fetches, want 0", n)
	}
	if n := heapFetches(t, 10_000); n == 0 {
		t.Errorf("after embedding 428 events with VacuumAt 10,000: no heap fetches; the test shows nothing")
	}
}
