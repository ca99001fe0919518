package analyzer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
)

// hanging is a classifier whose call for one event hangs until released,
// as a model call that never answers.
type hanging struct {
	similarityRule
	on      string
	release chan struct{}
	hung    atomic.Bool
}

func (h *hanging) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	if ev.SourceID == h.on {
		h.hung.Store(true)
		select {
		case <-h.release:
		case <-ctx.Done():
			return analyzer.Result{}, ctx.Err()
		}
	}
	return h.similarityRule.Classify(ctx, ev, cands)
}

// TestOneHungCallDoesNotStallThePass: workers claim as they free up, so
// every other event is analysed while one call hangs. With claims in
// batches and a barrier after each, the pass stalled at the hung batch.
func TestOneHungCallDoesNotStallThePass(t *testing.T) {
	pool, e := prepared(t)
	c := &hanging{similarityRule: similarityRule{model: "rule", threshold: 0.5}, on: "wt56700", release: make(chan struct{})}
	var others atomic.Int64
	allOthers := make(chan struct{})
	opts := analyzer.Options{EmbeddingModel: e.Model(), Concurrency: 4, Observe: func(o analyzer.Outcome) {
		if others.Add(1) == 427 {
			close(allOthers)
		}
	}}
	done := make(chan error, 1)
	var st analyzer.Stats
	go func() {
		var err error
		st, err = analyzer.Analyze(context.Background(), pool, c, opts)
		done <- err
	}()
	select {
	case <-allOthers:
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d of the 427 other events were analysed while one call hung", others.Load())
	}
	if !c.hung.Load() {
		t.Fatal("the hung call never started")
	}
	close(c.release)
	if err := <-done; err != nil || st.Analysed != 428 {
		t.Fatalf("after the hung call returned: %+v, %v", st, err)
	}
}

// TestTypesCountWhatWasInserted: a re-analysis that inserts nothing (every
// pair already stored) reports no relations of any type.
func TestTypesCountWhatWasInserted(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	c := &similarityRule{model: "rule", threshold: 0.5}
	opts := analyzer.Options{EmbeddingModel: e.Model()}
	first, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil || first.Written == 0 {
		t.Fatalf("first pass: %+v, %v", first, err)
	}
	opts.ReanalyseBefore = time.Now().Add(time.Hour)
	again, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Analysed != 428 || again.Written != 0 || len(again.ByType) != 0 {
		t.Fatalf("re-analysis of stored pairs: %+v; want 428 analysed, 0 written, no types", again)
	}
}

// nulRationale writes a rationale the database refuses (a NUL character)
// for one event.
type nulRationale struct {
	similarityRule
	on string
}

func (n *nulRationale) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	res, err := n.similarityRule.Classify(ctx, ev, cands)
	if ev.SourceID == n.on {
		res.Relations = append(res.Relations, analyzer.Relation{Number: 1, Type: analyzer.Causes, Confidence: 0.9,
			Rationale: "Event 1 \x00 caused the New Event."})
	}
	return res, err
}

// TestOneEventsRefusedWriteFailsItAlone: a relation the database refuses
// fails its event (recorded with its attempt) and the pass goes on; it used
// to end the pass, release every claim and give the attempt back, so the
// event was retried forever.
func TestOneEventsRefusedWriteFailsItAlone(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	c := &nulRationale{similarityRule: similarityRule{model: "rule", threshold: 0.5}, on: "wt56700"}
	opts := analyzer.Options{EmbeddingModel: e.Model(), MaxAttempts: 2}
	st, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil || st.Failed != 1 || st.Analysed != 427 {
		t.Fatalf("pass with one refused write: %+v, %v", st, err)
	}
	var status, lastErr string
	var attempts int
	pool.QueryRow(ctx, `SELECT a.status, a.attempts, a.last_error FROM event_analyses a JOIN events e ON e.id = a.event_id
		WHERE e.source_id = 'wt56700'`).Scan(&status, &attempts, &lastErr)
	if status != "failed" || attempts != 1 || !strings.Contains(lastErr, "write relations") {
		t.Fatalf("refused event recorded as %s after %d attempts: %q", status, attempts, lastErr)
	}
	if n := count(t, pool, `SELECT count(*) FROM relations r JOIN events e ON e.id = r.new_event_id WHERE e.source_id = 'wt56700'`); n != 0 {
		t.Fatalf("%d relations of the refused event written: its write is all or nothing", n)
	}
	st, _ = analyzer.Analyze(ctx, pool, c, opts)
	if st.Dead != 1 {
		t.Fatalf("second pass: %+v; the event must be dead after 2 attempts", st)
	}
	if st, _ := analyzer.Analyze(ctx, pool, c, opts); st.Analysed+st.Failed+st.Dead != 0 {
		t.Fatalf("a dead event must rest: %+v", st)
	}
}

// TestDeadLetterAndRequeue: after MaxAttempts failures an analysis is
// dead with its last error; Status lists it; Requeue puts it back.
func TestDeadLetterAndRequeue(t *testing.T) {
	ctx := context.Background()
	pool, e := prepared(t)
	bad := &similarityRule{model: "rule", threshold: 0.5, failOn: "wt56700"}
	opts := analyzer.Options{EmbeddingModel: e.Model(), MaxAttempts: 1}
	if st, err := analyzer.Analyze(ctx, pool, bad, opts); err != nil || st.Dead != 1 {
		t.Fatalf("first pass: %+v, %v", st, err)
	}
	ws, err := analyzer.Status(ctx, pool, bad, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws.Keys) != 1 || ws.Keys[0].Dead != 1 || ws.Keys[0].Done != 427 || len(ws.Errors) != 1 ||
		ws.Errors[0].EventID != "wt56700" || !strings.Contains(ws.Errors[0].Error, "model unavailable") {
		t.Fatalf("status %+v", ws)
	}
	if n, err := analyzer.Requeue(ctx, pool, analyzer.RequeueOptions{}); err != nil || n != 0 {
		t.Fatalf("requeue without --dead put back %d, %v; want 0", n, err)
	}
	if _, err := analyzer.Requeue(ctx, pool, analyzer.RequeueOptions{Dead: true, Events: []string{"wt56700", "nope"}}); err == nil ||
		!strings.Contains(err.Error(), "nope") {
		t.Fatalf("requeue of an unknown event: %v", err)
	}
	if n, err := analyzer.Requeue(ctx, pool, analyzer.RequeueOptions{Dead: true, Events: []string{"wt56700"}}); err != nil || n != 1 {
		t.Fatalf("requeue --dead --event: %d, %v", n, err)
	}
	good := &similarityRule{model: "rule", threshold: 0.5}
	if st, err := analyzer.Analyze(ctx, pool, good, opts); err != nil || st.Analysed != 1 {
		t.Fatalf("after requeue: %+v, %v", st, err)
	}
}

// TestConcurrentAnalysesKeepClaiming: several Analyze calls at once each
// keep claiming until nothing is left, so each does a share.
func TestConcurrentAnalysesKeepClaiming(t *testing.T) {
	pool, e := prepared(t)
	c := &slowRule{similarityRule: similarityRule{model: "rule", threshold: 0.4}, delay: 2 * time.Millisecond}
	var wg sync.WaitGroup
	shares := make([]int, 3)
	for i := range shares {
		wg.Go(func() {
			st, err := analyzer.Analyze(context.Background(), pool, c, analyzer.Options{EmbeddingModel: e.Model(), Concurrency: 2})
			if err != nil {
				t.Error(err)
			}
			shares[i] = st.Analysed
		})
	}
	wg.Wait()
	if shares[0]+shares[1]+shares[2] != 428 || shares[0] == 0 || shares[1] == 0 || shares[2] == 0 {
		t.Fatalf("shares %v; want three non-zero shares of 428", shares)
	}
}

type slowRule struct {
	similarityRule
	delay time.Duration
}

func (s *slowRule) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	time.Sleep(s.delay)
	return s.similarityRule.Classify(ctx, ev, cands)
}

// TestEmbeddedCountsWhatWasCommitted: a step interrupted after its
// embedder answered, before the batch committed, counts only what is
// stored.
func TestEmbeddedCountsWhatWasCommitted(t *testing.T) {
	pool, _ := prepared(t)
	ctx, cancel := context.WithCancel(context.Background())
	e := &cancelAfter{Embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128}), after: 2, cancel: cancel}
	st, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{BatchSize: 100})
	if err == nil {
		t.Fatal("interrupted step returned no error")
	}
	stored := count(t, pool, `SELECT count(*) FROM embeddings WHERE model = $1`, e.Model())
	if st.Embedded != stored || stored != 100 {
		t.Fatalf("step says %d embedded, %d stored; want 100 both", st.Embedded, stored)
	}
}

// cancelAfter answers its first calls, then cancels the context after
// answering, as a process stopped while its batch is being written.
type cancelAfter struct {
	embeddings.Embedder
	calls, after int
	cancel       context.CancelFunc
}

func (c *cancelAfter) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.calls++
	v, err := c.Embedder.Embed(ctx, texts)
	if c.calls == c.after {
		c.cancel()
	}
	return v, err
}

func (c *cancelAfter) Model() string { return fmt.Sprintf("%s-cancel", c.Embedder.Model()) }

// counting tracks how many classifications run at once.
type counting struct {
	similarityRule
	now, most atomic.Int64
}

func (c *counting) Classify(ctx context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	return c.similarityRule.Classify(ctx, ev, cands)
}

// Workers retrieve ahead of the calls, but no more than Concurrency events
// are ever classified at once: it is the limit operators set for their
// model server.
func TestRetrievalAheadKeepsCallsWithinConcurrency(t *testing.T) {
	pool, e := prepared(t)
	for _, conc := range []int{1, 3} {
		c := &counting{similarityRule: similarityRule{model: fmt.Sprintf("rule-%d", conc), threshold: 0.5}}
		st, err := analyzer.Analyze(context.Background(), pool, c, analyzer.Options{EmbeddingModel: e.Model(), Concurrency: conc})
		if err != nil || st.Analysed != 428 {
			t.Fatalf("concurrency %d: %+v, %v", conc, st, err)
		}
		if got := c.most.Load(); got != int64(conc) {
			t.Errorf("concurrency %d: at most %d classifications at once, want exactly %d", conc, got, conc)
		}
	}
}
