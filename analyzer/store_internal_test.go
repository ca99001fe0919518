package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

func preparedInternal(t *testing.T) (*pgxpool.Pool, embeddings.Embedder) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	f, err := os.Open("../testdata/wikitimes-2015-09/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := events.Import(ctx, pool, f); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	return pool, e
}

// TestAClaimNamesItself: once a claim's lease ran out and another process
// took the event over, the first process can neither finish, fail nor
// release it: each update names its claim's token. They used to match the
// (event, model, prompt version) alone.
func TestAClaimNamesItself(t *testing.T) {
	ctx := context.Background()
	pool, e := preparedInternal(t)
	k := key{"rule", "v1"}
	start, err := Now(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	first, err := claimEvents(ctx, pool, claimRequest{k: k, embeddingModel: e.Model(), limit: 3, lease: time.Millisecond, maxAttempts: 3, passStart: start})
	if err != nil || len(first) != 3 {
		t.Fatalf("first claim: %v, %v", first, err)
	}
	time.Sleep(20 * time.Millisecond) // the leases run out
	second, err := claimEvents(ctx, pool, claimRequest{k: k, embeddingModel: e.Model(), limit: 3, lease: time.Minute, maxAttempts: 3, passStart: start})
	if err != nil || len(second) != 3 || second[0].eventID != first[0].eventID || second[0].token == first[0].token ||
		!second[0].takenOver || first[0].takenOver {
		t.Fatalf("takeover: %v, %v", second, err)
	}

	if _, err := finish(ctx, pool, k, first[0], 0, Result{}, nil, nil, false); !errors.Is(err, errLost) {
		t.Fatalf("finish by the old claim: %v; want errLost", err)
	}
	if _, err := fail(ctx, pool, k, first[1], errors.New("late"), 3, Result{}, nil); !errors.Is(err, errLost) {
		t.Fatalf("fail by the old claim: %v; want errLost", err)
	}
	if err := release(ctx, pool, first[2:]); err != nil {
		t.Fatal(err)
	}
	var running int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM event_analyses WHERE status = 'running' AND claim_token = ANY($1)`,
		[]any{second[0].token, second[1].token, second[2].token}).Scan(&running); err != nil || running != 3 {
		t.Fatalf("%d of the new claims still running (%v); the old claim's updates must not touch them", running, err)
	}
	// The new holder renews, finishes and releases as usual.
	held, err := renew(ctx, pool, []pgtype.UUID{second[0].token, first[0].token}, time.Minute)
	if err != nil || !held[second[0].token] || held[first[0].token] {
		t.Fatalf("renew: %v, %v", held, err)
	}
	if _, err := finish(ctx, pool, k, second[0], 0, Result{}, nil, []int64{}, false); err != nil {
		t.Fatalf("finish by the holder: %v", err)
	}
}

// TestAnEventChangedUnderItsClaimFailsAlone: an event re-imported with new
// content after it was claimed has no current vector; its analysis fails
// alone (recorded, its attempt counted) and the pass is not ended. It used
// to be taken for a storage error that ended the pass.
func TestAnEventChangedUnderItsClaimFailsAlone(t *testing.T) {
	ctx := context.Background()
	pool, e := preparedInternal(t)
	c := everyCandidate{}
	start, err := Now(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	a := &analysis{pool: pool, c: c, opts: Options{EmbeddingModel: e.Model()}.withDefaults(), k: key{c.Model(), c.PromptVersion()},
		passStart: start, stopWork: func(error) {}, held: map[pgtype.UUID]*heldClaim{}, freed: make(chan struct{}, 1)}
	claims, err := claimEvents(ctx, pool, claimRequest{k: a.k, embeddingModel: e.Model(), limit: 2, lease: time.Minute, maxAttempts: 3, passStart: start})
	if err != nil || len(claims) != 2 {
		t.Fatalf("claim: %v, %v", claims, err)
	}
	var sourceID string
	if err := pool.QueryRow(ctx, `SELECT source_id FROM events WHERE id = $1`, claims[1].eventID).Scan(&sourceID); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(
		`{"id":"`+sourceID+`","occurred_at":"2015-09-01","summary":"Rewritten after the claim."}`+"\n")); err != nil {
		t.Fatal(err)
	}
	a.writes = make(chan writeRequest)
	done := make(chan struct{})
	go func() { a.writer(ctx); close(done) }()
	for _, cl := range claims {
		h, cctx := a.hold(ctx, cl)
		a.work(ctx, cctx, h)
	}
	close(a.writes)
	<-done
	if a.fatal != nil || a.stats.Failed != 1 || a.stats.Analysed != 1 {
		t.Fatalf("stats %+v, fatal %v; want the changed event failed alone", a.stats, a.fatal)
	}
	var status, lastErr string
	var attempts int
	if err := pool.QueryRow(ctx, `SELECT status, attempts, last_error FROM event_analyses WHERE event_id = $1`,
		claims[1].eventID).Scan(&status, &attempts, &lastErr); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || attempts != 1 || !strings.Contains(lastErr, "no vector") {
		t.Fatalf("changed event recorded as %s, %d attempts, %q", status, attempts, lastErr)
	}
}

// everyCandidate relates the first candidate.
type everyCandidate struct{}

func (everyCandidate) Model() string         { return "every" }
func (everyCandidate) PromptVersion() string { return "v1" }
func (everyCandidate) Classify(_ context.Context, _ events.Event, cands []Candidate) (Result, error) {
	return Result{Relations: []Relation{{Number: 1, Type: Continuation, Confidence: 0.5,
		Rationale: "Event 1 came first. The New Event follows it."}}}, nil
}

// BenchmarkFinish writes one event's analysis with 15 relations, the
// transaction every analysed event commits.
func BenchmarkFinish(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.New(b)
	var lines []string
	for i := range 16 {
		lines = append(lines, fmt.Sprintf(`{"id":"e%02d","occurred_at":"2015-09-%02d","summary":"Event %d."}`, i, i+1, i))
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
		b.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		b.Fatal(err)
	}
	var rels []written
	for i := 1; i <= 15; i++ {
		rels = append(rels, written{Relation: Relation{Number: i, Type: Continuation, Confidence: 0.5,
			Rationale: fmt.Sprintf("Event %d came first. The New Event follows it.", i)}, priorID: int64(i), similarity: 0.5})
	}
	k := key{"bench", "v1"}
	start, _ := Now(ctx, pool)
	for b.Loop() {
		b.StopTimer()
		pool.Exec(ctx, `DELETE FROM relations; DELETE FROM event_analyses`)
		claims, err := claimEvents(ctx, pool, claimRequest{k: k, embeddingModel: e.Model(), limit: 16, lease: time.Minute,
			maxAttempts: 3, passStart: start, after: orderKey{}, mark: orderKey{}})
		if err != nil || len(claims) != 16 {
			b.Fatalf("claim: %d, %v", len(claims), err)
		}
		b.StartTimer()
		if _, err := finish(ctx, pool, k, claims[15], 0, Result{}, rels, nil, false); err != nil {
			b.Fatal(err)
		}
	}
}

// TestClaimReadsEventsInOrderWhateverTheStatistics: a claim walks events in
// prior order and looks each one's vector and analysis up by key, so its
// cost is what it claims, not the history. With the statistics of a fresh
// load (event_analyses analysed while empty) the joins it used to be were
// planned as a hash join over every vector and a loop over every analysis.
func TestClaimReadsEventsInOrderWhateverTheStatistics(t *testing.T) {
	ctx := context.Background()
	pool, e := preparedInternal(t)
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil { // event_analyses is still empty
		t.Fatal(err)
	}
	k := key{"rule", "v1"}
	start, err := Now(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	r := claimRequest{k: k, embeddingModel: e.Model(), limit: 300, lease: time.Minute, maxAttempts: 3, passStart: start}
	if got, err := claimEvents(ctx, pool, r); err != nil || len(got) != 300 {
		t.Fatalf("first claim: %d, %v", len(got), err)
	}
	r.limit = 32
	sql, args := claimQuery(r)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var plan string
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Index Name": "events_order_idx"`, `"Index Name": "embeddings_pkey"`, `"Index Name": "event_analyses_pkey"`} {
		if !strings.Contains(plan, want) {
			t.Errorf("the claim's plan lacks %s", want)
		}
	}
	for _, bad := range []string{`"Node Type": "Seq Scan"`, `"Index Name": "event_analyses_state_idx"`} {
		if strings.Contains(plan, bad) {
			t.Errorf("the claim's plan has %s", bad)
		}
	}
	if t.Failed() {
		t.Log(plan)
	}
}
