package embeddings_test

import (
	"context"
	"fmt"
	"testing"

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
