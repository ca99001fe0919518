package analyzer_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pgtest"
)

// storedScene is a New Event and its two candidates, stored (the call log
// refers to events).
func storedScene(t *testing.T, pool *pgxpool.Pool) (events.Event, []analyzer.Candidate) {
	t.Helper()
	ctx := context.Background()
	if _, err := events.Import(ctx, pool, strings.NewReader(`{"id":"a","occurred_at":"2026-04-01","title":"Iran signals openness to talks"}
{"id":"b","occurred_at":"2026-04-05","title":"Talks open in Islamabad"}
{"id":"c","occurred_at":"2026-04-09","title":"Framework agreed in Islamabad"}
`)); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range []string{"c", "b", "a"} {
		ev, err := events.BySourceID(ctx, pool, s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	evs, err := events.ByIDs(ctx, pool, ids)
	if err != nil {
		t.Fatal(err)
	}
	return evs[ids[0]], []analyzer.Candidate{{Number: 1, Event: evs[ids[1]], Similarity: 0.8}, {Number: 2, Event: evs[ids[2]], Similarity: 0.5}}
}

// loggedClassifier is s's classifier with its calls logged in pool.
func (s *chatServer) loggedClassifier(t *testing.T, pool *pgxpool.Pool) *analyzer.OpenAI {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	client := openaiclient.New(openaiclient.Options{BaseURL: s.url, APIKey: "test", MaxRetries: -1, Logger: quiet})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", Logger: quiet, Calls: calllog.New(pool)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCallLogReusesTheAnswerToTheSameRequest: every call is logged with
// its raw answer as received; asked again the same, the classifier takes
// both answers (the first and the repair's) from the log, makes no HTTP
// call and decides the same; a changed request (another candidate list) is
// asked anew.
func TestCallLogReusesTheAnswerToTheSameRequest(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	newEvent, cands := storedScene(t, pool)
	firstReply := relations(item(1, "continuation", 0.8), item(9, "causes", 0.5))
	s := newChatServer(t, answer(firstReply, 700, 60), answer(relations(item(1, "continuation", 0.8)), 800, 30),
		answer(relations(), 600, 5))
	c := s.loggedClassifier(t, pool)

	first, err := c.Classify(ctx, newEvent, cands)
	if err != nil {
		t.Fatal(err)
	}
	if first.Calls != 2 || first.Reused != 0 || len(first.Relations) != 1 {
		t.Fatalf("first classification %+v; want 2 calls (the repair) and one relation", first)
	}
	calls, err := calllog.Of(ctx, pool, calllog.Analysis{EventID: newEvent.ID, EventHash: newEvent.ContentHash(),
		Model: "gpt-4o-mini", PromptVersion: c.PromptVersion()}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].Kind != "first" || calls[1].Kind != "repair" || calls[0].Response != firstReply ||
		calls[0].FinishReason != "stop" || calls[0].TokensIn != 700 || calls[0].TokensOut != 60 || calls[0].Err != "" ||
		calls[0].ResponseID != "chatcmpl-1" || len(calls[0].RequestHash) != 32 {
		t.Fatalf("logged calls %+v", calls)
	}

	again, err := c.Classify(ctx, newEvent, cands)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests()); n != 2 {
		t.Fatalf("the server got %d requests; the second classification must reuse both answers", n)
	}
	if again.Calls != 0 || again.Reused != 2 || again.TokensIn != 0 {
		t.Errorf("reusing classification %+v; want 0 calls, 2 reused, no tokens spent", again)
	}
	if len(again.Relations) != 1 || again.Relations[0] != first.Relations[0] || again.Invalid != first.Invalid {
		t.Errorf("reused answers decided %+v; the answers decided %+v", again, first)
	}

	other, err := c.Classify(ctx, newEvent, cands[:1])
	if err != nil {
		t.Fatal(err)
	}
	if other.Calls != 1 || other.Reused != 0 || len(s.requests()) != 3 {
		t.Errorf("another candidate list: %+v, %d requests; want a new call", other, len(s.requests()))
	}
}

// TestCallLogKeepsFailedCallsAndDoesNotReuseThem: a call that failed is
// logged with its error, and the next attempt asks again.
func TestCallLogKeepsFailedCallsAndDoesNotReuseThem(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	newEvent, cands := storedScene(t, pool)
	s := newChatServer(t, apiError(http.StatusBadRequest, "", "the prompt is too long"), answer(relations(), 600, 5))
	c := s.loggedClassifier(t, pool)
	if _, err := c.Classify(ctx, newEvent, cands); err == nil {
		t.Fatal("a 400 is an error")
	}
	var errText string
	if err := pool.QueryRow(ctx, `SELECT error FROM model_calls WHERE response IS NULL`).Scan(&errText); err != nil ||
		!strings.Contains(errText, "the prompt is too long") {
		t.Fatalf("failed call logged as %q, %v", errText, err)
	}
	res, err := c.Classify(ctx, newEvent, cands)
	if err != nil || res.Calls != 1 || res.Reused != 0 {
		t.Fatalf("after a failed call: %+v, %v; want one new call", res, err)
	}
}

// TestReanalysisAsksAgain: the answers a finished analysis used are not
// reused by a re-analysis of the same key (backfill --reanalyze): it is
// asked for because a fresh answer is wanted.
func TestReanalysisAsksAgain(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	storedScene(t, pool)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	reply := answer(relations(item(1, "continuation", 0.8)), 700, 60)
	s := newChatServer(t, reply, reply, reply, reply)
	c := s.loggedClassifier(t, pool)
	st, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model()})
	if err != nil || st.Calls != 2 || st.Reused != 0 {
		t.Fatalf("first pass: %+v, %v; want 2 calls", st, err)
	}
	now, err := analyzer.Now(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	st, err = analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model(), ReanalyseBefore: now})
	if err != nil || st.Analysed != 3 || st.Calls != 2 || st.Reused != 0 || len(s.requests()) != 4 {
		t.Fatalf("re-analysis: %+v, %v, %d requests; want 2 new calls", st, err, len(s.requests()))
	}
}

// TestCallLogFailureEndsThePass: the call log is relator's storage: when
// it cannot be read or written, the pass stops with its error and the
// events are handed back, not failed, and no model call is made without it.
func TestCallLogFailureEndsThePass(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	storedScene(t, pool)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	gone, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	s := newChatServer(t)
	c := s.loggedClassifier(t, gone)
	st, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model(), Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), "model call log") {
		t.Fatalf("pass ended with %v; want the call log's error", err)
	}
	if st.Failed != 0 || st.Dead != 0 || len(s.requests()) != 0 {
		t.Errorf("stats %+v, %d requests; want no failed event and no call", st, len(s.requests()))
	}
	if n := count(t, pool, `SELECT count(*) FROM event_analyses WHERE status IN ('failed', 'dead', 'running')`); n != 0 {
		t.Errorf("%d analyses failed or left claimed; want them handed back", n)
	}
}
