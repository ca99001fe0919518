package pass_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/runs"
)

const devSet = "../../testdata/wikitimes-2015-09/events.jsonl"

func imported(t *testing.T) string {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pool := open(t, url)
	f, err := os.Open(devSet)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := events.Import(context.Background(), pool, f); err != nil {
		t.Fatal(err)
	}
	return url
}

func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// slowEmbedder takes a while per batch, as a real embeddings API does, so
// that one process's uncommitted batch is in flight while others look for
// work.
type slowEmbedder struct {
	embeddings.Embedder
	delay time.Duration
}

func (s slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Embedder.Embed(ctx, texts)
}

// slowClassifier is the offline classifier with a model call's latency.
type slowClassifier struct {
	analyzer.Classifier
	delay time.Duration
}

func (s slowClassifier) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return analyzer.Result{}, ctx.Err()
	}
	return s.Classifier.Classify(ctx, ev, cands)
}

func options(e embeddings.Embedder, c analyzer.Classifier) pass.Options {
	return pass.Options{
		Command: "test", Embedder: e, Classifier: c, EmbedBatch: 64, Poll: 50 * time.Millisecond,
		Analysis: analyzer.Options{EmbeddingModel: e.Model(), Search: embeddings.SearchOptions{K: 15}, Concurrency: 2, Lease: 5 * time.Second},
	}
}

type pair struct{ new, prior, typ string }

func relationSet(t *testing.T, pool *pgxpool.Pool) []pair {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT n.source_id, p.source_id, r.type FROM relations r
		  JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.new, &p.prior, &p.typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b pair) int {
		return compare(a.new+"\x00"+a.prior, b.new+"\x00"+b.prior)
	})
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestConcurrentPassesWriteWhatOnePassWrites is the operator's check: three
// passes started together on a fresh import write exactly the relations of
// one pass, each doing a share of the analysis. Without the embedding
// watermark, a process that finished its own embedding batches analysed
// events whose priors sat in another's uncommitted batch, with too few
// candidates, and marked them done.
func TestConcurrentPassesWriteWhatOnePassWrites(t *testing.T) {
	ctx := context.Background()
	e := slowEmbedder{embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256}), 150 * time.Millisecond}
	c := slowClassifier{analyzer.NewOffline(analyzer.OfflineOptions{}), 3 * time.Millisecond}

	one := imported(t)
	onePool := open(t, one)
	res, err := pass.Run(ctx, onePool, options(e, c))
	if err != nil || res.Analysed != 428 {
		t.Fatalf("one pass: %+v, %v", res, err)
	}
	want := relationSet(t, onePool)
	t.Logf("one pass: %s", res.Took)

	three := imported(t)
	var wg sync.WaitGroup
	results := make([]pass.Result, 3)
	for i := range results {
		pool := open(t, three)
		wg.Go(func() {
			var err error
			results[i], err = pass.Run(ctx, pool, options(e, c))
			if err != nil {
				t.Errorf("pass %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		t.Logf("pass: %s analysed %d", r.Took, r.Analysed)
	}
	pool := open(t, three)
	got := relationSet(t, pool)
	total := 0
	for i, r := range results {
		if r.Analysed == 0 || r.Status != runs.Done {
			t.Errorf("pass %d analysed %d events, status %s: every process must keep claiming until nothing is left", i, r.Analysed, r.Status)
		}
		total += r.Analysed
	}
	if total != 428 {
		t.Errorf("the three passes analysed %d events together; want 428", total)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("three concurrent passes wrote %d relations, one pass %d; they must be the same pairs", len(got), len(want))
	}

	// Each analysis recorded the candidates it saw: the same as searching
	// now, when every vector is there.
	rows, err := pool.Query(ctx, `SELECT event_id, candidates FROM event_analyses WHERE status = 'done'`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64][]int64{}
	for rows.Next() {
		var id int64
		var cands []int64
		if err := rows.Scan(&id, &cands); err != nil {
			t.Fatal(err)
		}
		seen[id] = cands
	}
	if len(seen) != 428 {
		t.Fatalf("%d analyses done; want 428", len(seen))
	}
	for id, cands := range seen {
		ns, err := embeddings.Neighbors(ctx, pool, e.Model(), id, embeddings.SearchOptions{K: 15})
		if err != nil {
			t.Fatal(err)
		}
		var now []int64
		for _, n := range ns {
			now = append(now, n.EventID)
		}
		if fmt.Sprint(now) != fmt.Sprint(cands) {
			t.Fatalf("event %d was analysed with candidates %v; a search now gives %v", id, cands, now)
		}
	}
}

// gatedEmbedder holds its first batch until gate is closed: an embedding
// transaction left uncommitted while other processes go on.
type gatedEmbedder struct {
	embeddings.Embedder
	first atomic.Bool
	gate  chan struct{}
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if g.first.CompareAndSwap(false, true) {
		<-g.gate
	}
	return g.Embedder.Embed(ctx, texts)
}

// TestNoAnalysisBeforeThePriorsAreEmbedded: while one process holds the
// earliest events in an uncommitted embedding batch, another that has
// embedded all the later events analyses none of them — it waits, and then
// writes what one pass writes.
func TestNoAnalysisBeforeThePriorsAreEmbedded(t *testing.T) {
	ctx := context.Background()
	off := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	c := analyzer.NewOffline(analyzer.OfflineOptions{})
	one := open(t, imported(t))
	if _, err := pass.Run(ctx, one, options(off, c)); err != nil {
		t.Fatal(err)
	}
	want := relationSet(t, one)

	url := imported(t)
	gated := &gatedEmbedder{Embedder: off, gate: make(chan struct{})}
	var wg sync.WaitGroup
	var early atomic.Int64 // analyses finished by B before A committed
	var committed atomic.Bool
	var bEmbedded atomic.Int64
	wg.Go(func() {
		if _, err := pass.Run(ctx, open(t, url), options(gated, c)); err != nil {
			t.Error(err)
		}
	})
	for !gated.first.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	b := options(off, c)
	b.Embedded = func(n int) {
		if bEmbedded.Add(int64(n)) == 428-64 {
			// B has embedded everything A does not hold: give it time to
			// (wrongly) analyse, then let A commit.
			go func() {
				time.Sleep(300 * time.Millisecond)
				committed.Store(true)
				close(gated.gate)
			}()
		}
	}
	b.Observe = func(analyzer.Outcome) {
		if !committed.Load() {
			early.Add(1)
		}
	}
	wg.Go(func() {
		if _, err := pass.Run(ctx, open(t, url), b); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if early.Load() > 0 {
		t.Errorf("%d events analysed while the earliest events' vectors were uncommitted", early.Load())
	}
	if got := relationSet(t, open(t, url)); !slices.Equal(got, want) {
		t.Fatalf("wrote %d relations; one pass writes %d", len(got), len(want))
	}
}

// TestPassWithFailuresSaysSo: a pass in which analyses failed is recorded as
// partial and returns ErrFailures, so its exit code says so.
func TestPassWithFailuresSaysSo(t *testing.T) {
	pool := open(t, imported(t))
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	res, err := pass.Run(context.Background(), pool, options(e, failing{analyzer.NewOffline(analyzer.OfflineOptions{})}))
	if res.Status != runs.Partial || res.Failed != 427 || res.Analysed != 1 {
		t.Fatalf("pass where every model call fails: %+v", res)
	}
	if err == nil || !errorsIs(err, pass.ErrFailures) {
		t.Fatalf("error %v; want ErrFailures", err)
	}
	var status string
	if err := pool.QueryRow(context.Background(), `SELECT status FROM runs WHERE id = $1`, res.RunID).Scan(&status); err != nil || status != "partial" {
		t.Fatalf("run recorded as %q, %v", status, err)
	}
}

type failing struct{ analyzer.Classifier }

func (failing) Classify(context.Context, events.Event, []analyzer.Candidate) (analyzer.Result, error) {
	return analyzer.Result{Calls: 1}, fmt.Errorf("server said 500")
}

// TestStoppedPassIsAborted: closing Stop mid-pass ends it with nothing
// lost: what it did not finish is released, the run is aborted, and the
// next pass does the rest.
func TestStoppedPassIsAborted(t *testing.T) {
	ctx := context.Background()
	pool := open(t, imported(t))
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	c := slowClassifier{analyzer.NewOffline(analyzer.OfflineOptions{}), 5 * time.Millisecond}
	stop := make(chan struct{})
	var n atomic.Int64
	opts := options(e, c)
	opts.Stop = stop
	opts.Observe = func(analyzer.Outcome) {
		if n.Add(1) == 50 {
			close(stop)
		}
	}
	res, err := pass.Run(ctx, pool, opts)
	if !errorsIs(err, pass.ErrAborted) || res.Status != runs.Aborted || res.Analysed < 50 || res.Analysed > 60 {
		t.Fatalf("stopped pass: %+v, %v", res, err)
	}
	var running int
	pool.QueryRow(ctx, `SELECT count(*) FROM event_analyses WHERE status = 'running'`).Scan(&running)
	if running != 0 {
		t.Fatalf("%d claims left after a graceful stop", running)
	}
	rest, err := pass.Run(ctx, pool, options(e, c))
	if err != nil || rest.Analysed+res.Analysed != 428 {
		t.Fatalf("the next pass analysed %d after %d: %v", rest.Analysed, res.Analysed, err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
