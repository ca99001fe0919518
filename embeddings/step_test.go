package embeddings_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

// counting wraps an embedder and counts the texts it was asked to embed.
type counting struct {
	embeddings.Embedder
	texts atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

func importFile(t *testing.T, pool *pgxpool.Pool, name string) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := events.Import(context.Background(), pool, f); err != nil {
		t.Fatal(err)
	}
}

func importString(t *testing.T, pool *pgxpool.Pool, jsonl string) {
	t.Helper()
	if _, err := events.Import(context.Background(), pool, strings.NewReader(jsonl)); err != nil {
		t.Fatal(err)
	}
}

const devSet = "../testdata/wikitimes-2015-09/events.jsonl"

func TestEmbedOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	importFile(t, pool, devSet)
	e := &counting{Embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})}
	opts := embeddings.StepOptions{BatchSize: 100}

	st, err := embeddings.Embed(ctx, pool, e, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded != 428 || e.texts.Load() != 428 || st.Batches != 5 {
		t.Fatalf("first run: %+v, %d texts", st, e.texts.Load())
	}
	st, err = embeddings.Embed(ctx, pool, e, opts)
	if err != nil || st.Embedded != 0 || e.texts.Load() != 428 {
		t.Fatalf("second run embedded again: %+v, %v", st, err)
	}

	// A new summary: embed that one event. A new time only: its text is
	// the same, so keep the vector but follow the event's order key.
	importString(t, pool, `{"id":"wt56657","occurred_at":"2015-09-01","summary":"A rewritten summary."}
{"id":"wt56658","occurred_at":"2015-09-09","summary":"Al-Shabaab claims to have killed scores of African Union troops in a successful attack that captured a compound in Janaale, south of Mogadishu.","actors":["African Union","Mogadishu","AlShabaab militant group","Janaale"]}
`)
	if n, err := embeddings.Pending(ctx, pool, e.Model(), time.Time{}); err != nil || n != 2 {
		t.Fatalf("pending = %d, %v; want 2", n, err)
	}
	st, err = embeddings.Embed(ctx, pool, e, opts)
	if err != nil || st.Embedded != 1 || st.Refreshed != 1 || e.texts.Load() != 429 {
		t.Fatalf("after changes: %+v, %d texts, %v", st, e.texts.Load(), err)
	}
	var day int
	pool.QueryRow(ctx, `SELECT extract(day FROM v.occurred_at) FROM embeddings v JOIN events e ON e.id = v.event_id
		WHERE e.source_id = 'wt56658'`).Scan(&day)
	if day != 9 {
		t.Fatalf("embedding's order key did not follow the event: day %d", day)
	}

	// Another model is another vector space: everything is embedded again,
	// and the first model's vectors stay.
	other := &counting{Embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128})}
	if st, err := embeddings.Embed(ctx, pool, other, opts); err != nil || st.Embedded != 428 {
		t.Fatalf("model switch: %+v, %v", st, err)
	}
	var models, indexes int
	pool.QueryRow(ctx, `SELECT count(DISTINCT model) FROM embeddings`).Scan(&models)
	pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'embeddings' AND indexdef LIKE '%hnsw%'`).Scan(&indexes)
	if models != 2 || indexes != 2 {
		t.Fatalf("%d models, %d hnsw indexes; want 2 and 2", models, indexes)
	}
}

func TestEmbedConcurrentProcessesShareTheWork(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	importFile(t, pool, devSet)
	e := &counting{Embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})}

	var wg sync.WaitGroup
	var total atomic.Int64
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{BatchSize: 16})
			errs <- err
			total.Add(int64(st.Embedded))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if total.Load() != 428 || e.texts.Load() != 428 {
		t.Fatalf("4 processes embedded %d events, %d texts; want each of the 428 exactly once", total.Load(), e.texts.Load())
	}
}
