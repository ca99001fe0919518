package analyzer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/budget"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pgtest"
)

// TestARepairCallTheBudgetRefusesIsNotMade: the budget is asked before
// the repair call too. A budget that lets the first call through but not
// the repair leaves the event pending — not failed, its attempt given back,
// nothing written — claims nothing more, and the next pass does it.
func TestARepairCallTheBudgetRefusesIsNotMade(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []json.RawMessage `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		content := `not json`
		if len(req.Messages) > 2 {
			content = `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})
	}))
	defer srv.Close()
	pool := pgtest.New(t)
	if _, err := events.Import(ctx, pool, strings.NewReader(`{"id":"a","occurred_at":"2026-04-01","title":"Iran signals openness to talks"}
{"id":"b","occurred_at":"2026-04-05","title":"Talks open in Islamabad"}
`)); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := analyzer.NewOpenAI(openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k"}), analyzer.OpenAIOptions{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	opts := analyzer.Options{EmbeddingModel: e.Model()}
	est, err := analyzer.EstimateAnalysis(ctx, pool, c, opts)
	if err != nil || est.Calls != 1 {
		t.Fatalf("estimate %+v, %v", est, err)
	}
	// Room for the first call's reservation, not for the repair's (its
	// prompt carries the first one's and more).
	b := budget.New(budget.Options{MaxTokens: est.TokensIn + analyzer.ExpectedOutputTokens + 50})
	opts.Budget = b
	st, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || st.Calls != 1 || st.Deferred != 1 || st.Analysed != 1 || st.Failed != 0 || !b.Exhausted() {
		t.Fatalf("%d requests; stats %+v", calls.Load(), st)
	}
	var status string
	var attempts, relations int
	if err := pool.QueryRow(ctx, `SELECT a.status, a.attempts, (SELECT count(*) FROM relations) FROM event_analyses a
		JOIN events e ON e.id = a.event_id WHERE e.source_id = 'b'`).Scan(&status, &attempts, &relations); err != nil {
		t.Fatal(err)
	}
	if status != "pending" || attempts != 0 || relations != 0 {
		t.Fatalf("event b left %s with %d attempts, %d relations written", status, attempts, relations)
	}
	opts.Budget = nil
	st, err = analyzer.Analyze(ctx, pool, c, opts)
	if err != nil || st.Analysed != 1 || st.Written != 1 || calls.Load() != 3 {
		t.Fatalf("next pass: %+v, %v, %d requests", st, err, calls.Load())
	}
}
