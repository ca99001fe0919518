package embeddings_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pgtest"
)

// A model name is data, whatever it holds: the index's predicate is that
// exact name, even in a session where backslashes escape (no hand-made
// quoting survives standard_conforming_strings = off).
func TestIndexDDLQuotesTheModelName(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	migrated, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	pool, err := db.Open(ctx, url+"&standard_conforming_strings=off")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, model := range []string{`it's`, `m\'); DROP TABLE events; --`, `back\slash "quoted" %s %I`} {
		if err := embeddings.EnsureIndex(ctx, pool, model, 8, embeddings.IndexOptions{}); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		// Read back where backslashes are plain characters: the literal
		// is the model name with its quotes doubled.
		var preds []string
		rows, err := migrated.Query(ctx, `
			SELECT pg_get_expr(indpred, indrelid) FROM pg_index
			 WHERE indrelid = 'embeddings'::regclass AND indpred IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p string
			rows.Scan(&p)
			preds = append(preds, p)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := "(model = '" + strings.ReplaceAll(model, "'", "''") + "'::text)"
		if !slices.Contains(preds, want) {
			t.Errorf("%s: no index with exactly that model in its predicate: %q", model, preds)
		}
	}
	if _, err := pool.Exec(ctx, `SELECT 1 FROM events LIMIT 1`); err != nil {
		t.Fatalf("events: %v", err)
	}
}
