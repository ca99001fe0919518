package analyzer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

// similarityRule is a test classifier: it relates every candidate above a
// similarity threshold, and can be made to fail or misbehave on cue.
type similarityRule struct {
	model     string
	threshold float64
	calls     atomic.Int64
	failOn    string // source id whose classification errors
	bogus     bool   // also return invalid items
}

func (s *similarityRule) Model() string         { return s.model }
func (s *similarityRule) PromptVersion() string { return "test-v1" }

func (s *similarityRule) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	s.calls.Add(1)
	if ev.SourceID == s.failOn {
		return analyzer.Result{}, errors.New("model unavailable")
	}
	res := analyzer.Result{Calls: 1, TokensIn: 100, TokensOut: 10}
	for _, c := range cands {
		if c.Similarity >= s.threshold {
			res.Relations = append(res.Relations, analyzer.Relation{
				Number: c.Number, Type: analyzer.Continuation, Confidence: c.Similarity,
				Rationale: fmt.Sprintf("Event %d reports %s. The New Event continues it.", c.Number, c.Event.SourceID),
			})
		}
	}
	if s.bogus {
		res.Relations = append(res.Relations,
			analyzer.Relation{Number: len(cands) + 1, Type: analyzer.Causes, Confidence: 0.5, Rationale: "Event ? and the New Event"},
			analyzer.Relation{Number: 1, Type: "related", Confidence: 0.5, Rationale: "Event 1 and the New Event"},
			analyzer.Relation{Number: 1, Type: analyzer.Causes, Confidence: 1.5, Rationale: "Event 1 and the New Event"})
	}
	return res, nil
}

const devSet = "../testdata/wikitimes-2015-09/events.jsonl"

// prepared returns a database holding the dev set, embedded offline.
func prepared(t *testing.T) (*pgxpool.Pool, embeddings.Embedder) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	f, err := os.Open(devSet)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := events.Import(ctx, pool, f); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	return pool, e
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAnalyzeOncePerEventAndIdempotent(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	c := &similarityRule{model: "rule", threshold: 0.5}
	opts := analyzer.Options{EmbeddingModel: e.Model(), Search: embeddings.SearchOptions{K: 15}}

	st, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The first event has no prior: analysed, but no call.
	if st.Analysed != 428 || st.Calls != 427 || c.calls.Load() != 427 || st.Written == 0 || st.Failed != 0 {
		t.Fatalf("first pass: %+v, %d classify calls", st, c.calls.Load())
	}
	if n := count(t, pool, `SELECT count(*) FROM relations`); n != st.Written || n != st.ByType[analyzer.Continuation] {
		t.Fatalf("%d relations stored, stats say %d", n, st.Written)
	}
	if n := count(t, pool, `SELECT count(*) FROM relations r JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
		WHERE (p.occurred_at, p.source_id) >= (n.occurred_at, n.source_id)`); n != 0 {
		t.Fatalf("%d relations point at a later event", n)
	}

	st, err = analyzer.Analyze(ctx, pool, c, opts)
	if err != nil || st.Analysed != 0 || st.Calls != 0 || st.Written != 0 || c.calls.Load() != 427 {
		t.Fatalf("second pass must do nothing: %+v, %v", st, err)
	}

	// A changed event is analysed again, and only it.
	if _, err := events.Import(ctx, pool, strings.NewReader(
		`{"id":"wt57000","occurred_at":"2015-09-25","summary":"Hungary reopens its border crossing with Serbia to migrants."}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err = analyzer.Analyze(ctx, pool, c, opts)
	if err != nil || st.Analysed != 1 || c.calls.Load() != 428 {
		t.Fatalf("after a change: %+v, %v", st, err)
	}

	// A new prompt version or model is a new analysis of everything.
	other := &similarityRule{model: "rule-2", threshold: 0.5}
	if st, err := analyzer.Analyze(ctx, pool, other, opts); err != nil || st.Analysed != 428 {
		t.Fatalf("new model: %+v, %v", st, err)
	}
}

func TestAnalyzeDropsInvalidAndRecordsFailures(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	c := &similarityRule{model: "rule", threshold: 0.5, bogus: true, failOn: "wt56700"}
	opts := analyzer.Options{EmbeddingModel: e.Model(), MaxAttempts: 2}

	st, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 1 || st.Analysed != 427 || st.Invalid != 3*426 {
		t.Fatalf("stats %+v; want 1 failed, 427 analysed, 3 invalid items for each of 426 calls", st)
	}
	if n := count(t, pool, `SELECT count(*) FROM relations WHERE type NOT IN ('continuation') OR confidence > 1`); n != 0 {
		t.Fatalf("%d invalid relations written", n)
	}
	var status, lastErr string
	pool.QueryRow(ctx, `SELECT a.status, a.last_error FROM event_analyses a JOIN events e ON e.id = a.event_id
		WHERE e.source_id = 'wt56700'`).Scan(&status, &lastErr)
	if status != "failed" || !strings.Contains(lastErr, "model unavailable") {
		t.Fatalf("failed event recorded as %q, %q", status, lastErr)
	}
	// Tried again on the next run, then dead-lettered after MaxAttempts.
	calls := c.calls.Load()
	if st, _ := analyzer.Analyze(ctx, pool, c, opts); st.Dead != 1 || st.Failed != 0 || c.calls.Load() != calls+1 {
		t.Fatalf("second attempt: %+v", st)
	}
	if n := count(t, pool, `SELECT count(*) FROM event_analyses WHERE status = 'dead' AND last_error LIKE '%model unavailable%'`); n != 1 {
		t.Fatalf("%d dead analyses with their error; want 1", n)
	}
	if st, _ := analyzer.Analyze(ctx, pool, c, opts); st.Failed != 0 || c.calls.Load() != calls+1 {
		t.Fatalf("after max attempts the event must rest: %+v", st)
	}
}

func TestAnalyzeConcurrentProcessesNeverDuplicate(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	c := &similarityRule{model: "rule", threshold: 0.4}
	var wg sync.WaitGroup
	var analysed atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model(), ClaimBatch: 8, Concurrency: 2})
			if err != nil {
				t.Error(err)
			}
			analysed.Add(int64(st.Analysed))
		}()
	}
	wg.Wait()
	if analysed.Load() != 428 || c.calls.Load() != 427 {
		t.Fatalf("3 processes analysed %d events with %d calls; want 428 and 427", analysed.Load(), c.calls.Load())
	}
}

// cancelling cancels its context after n calls, as a process killed in
// the middle of a run.
type cancelling struct {
	similarityRule
	after  int64
	cancel context.CancelFunc
}

func (c *cancelling) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	if c.calls.Load() >= c.after {
		c.cancel()
		return analyzer.Result{}, ctx.Err()
	}
	return c.similarityRule.Classify(ctx, ev, cands)
}

func TestAnalyzeInterruptedLosesAndDuplicatesNothing(t *testing.T) {
	pool, e := prepared(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := &cancelling{similarityRule: similarityRule{model: "rule", threshold: 0.4}, after: 100, cancel: cancel}
	opts := analyzer.Options{EmbeddingModel: e.Model()}
	if _, err := analyzer.Analyze(ctx, pool, c, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pass: %v", err)
	}
	done := count(t, pool, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
	running := count(t, pool, `SELECT count(*) FROM event_analyses WHERE status = 'running'`)
	if done == 0 || running != 0 {
		t.Fatalf("after the interruption: %d done, %d still leased", done, running)
	}
	before := count(t, pool, `SELECT count(*) FROM relations`)

	// The next run finishes the rest; nothing is analysed twice.
	c2 := &similarityRule{model: "rule", threshold: 0.4}
	st, err := analyzer.Analyze(context.Background(), pool, c2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Analysed != 428-done {
		t.Fatalf("resumed pass analysed %d; want the %d left", st.Analysed, 428-done)
	}
	// Together the two runs wrote what one uninterrupted run writes.
	fresh, fe := prepared(t)
	full, err := analyzer.Analyze(context.Background(), fresh, &similarityRule{model: "rule", threshold: 0.4},
		analyzer.Options{EmbeddingModel: fe.Model()})
	if err != nil {
		t.Fatal(err)
	}
	if got := before + st.Written; got != full.Written {
		t.Fatalf("interrupted + resumed runs wrote %d relations; one run writes %d", got, full.Written)
	}
}
