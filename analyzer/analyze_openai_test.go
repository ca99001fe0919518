package analyzer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/prompts"
	"github.com/relator/relator/runs"
)

// TestAnalyzeThroughTheChatAPI runs the whole analysis with the model path
// against a server speaking OpenAI's chat completions format. Its replies
// relate "Event 1" validly and add an item for a candidate that does not
// exist; the repair call gets the valid item alone. Exactly the valid items
// must be written, with the model, prompt version and rationale as given.
func TestAnalyzeThroughTheChatAPI(t *testing.T) {
	ctx := context.Background()
	var calls, repairs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openai.ChatCompletionRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/chat/completions" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		n := calls.Add(1)
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"rate limited"}}`, http.StatusTooManyRequests)
			return
		}
		if req.ResponseFormat == nil || req.ResponseFormat.Type != openai.ChatCompletionResponseFormatTypeJSONSchema {
			t.Errorf("request without a json_schema response format")
		}
		items := []map[string]any{{"event": 1, "type": "continuation", "confidence": 0.8,
			"rationale": "Event 1 reports the earlier step. The New Event continues it."}}
		if len(req.Messages) > 2 {
			repairs.Add(1)
		} else {
			items = append(items, map[string]any{"event": 99, "type": "causes", "confidence": 0.5,
				"rationale": "Event 99 caused the New Event."})
		}
		content, _ := json.Marshal(map[string]any{"relations": items})
		json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprint("c", n), "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": string(content)}}},
			"usage": map[string]any{"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050},
		})
	}))
	defer srv.Close()

	pool := pgtest.New(t)
	if _, err := events.Import(ctx, pool, strings.NewReader(`{"id":"a","occurred_at":"2026-04-01","title":"Iran signals openness to talks","summary":"Iran's president signals conditional openness to US talks."}
{"id":"b","occurred_at":"2026-04-05","title":"Talks open in Islamabad","summary":"US and Iranian delegations meet in Islamabad."}
{"id":"c","occurred_at":"2026-04-09","title":"Framework agreed","summary":"The Islamabad talks establish a framework for future negotiations."}
`)); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "test", MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "test-chat"})
	if err != nil {
		t.Fatal(err)
	}
	runID, err := runs.Start(ctx, pool, runs.Info{Command: "test", Embedder: e.Model(), Classifier: c.Model(), PromptVersion: c.PromptVersion()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model(), RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	// a has no prior: no call. b and c: one call and one repair each (plus
	// the 429, retried by the transport and not a call of ours).
	want := analyzer.Stats{Analysed: 3, Written: 2, ByType: map[analyzer.RelationType]int{analyzer.Continuation: 2},
		Calls: 4, TokensIn: 4000, TokensOut: 200, Invalid: 0}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("stats %+v\nwant  %+v", st, want)
	}
	if calls.Load() != 5 || repairs.Load() != 2 {
		t.Fatalf("server saw %d requests, %d repairs; want 5 and 2", calls.Load(), repairs.Load())
	}

	rows, err := pool.Query(ctx, `
		SELECT n.source_id, p.source_id, r.type, r.confidence, r.rationale, r.candidate_number, r.model,
		       r.prompt_version, r.status, r.run_id
		  FROM relations r JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
		 ORDER BY n.source_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var newID, priorID, typ, rationale, model, version, status string
		var conf float32
		var number int
		var run int64
		if err := rows.Scan(&newID, &priorID, &typ, &conf, &rationale, &number, &model, &version, &status, &run); err != nil {
			t.Fatal(err)
		}
		if model != "test-chat" || version != prompts.Version() || status != "pending" || run != runID || conf != 0.8 ||
			rationale != "Event 1 reports the earlier step. The New Event continues it." || number != 1 || typ != "continuation" {
			t.Errorf("relation %s→%s stored as %s %v %q #%d %s %s %s run %d", priorID, newID, typ, conf, rationale, number, model, version, status, run)
		}
		got = append(got, newID)
	}
	if strings.Join(got, ",") != "b,c" {
		t.Fatalf("relations for new events %v; want b and c", got)
	}

	// Each event's usage is recorded with its analysis.
	var usage string
	if err := pool.QueryRow(ctx, `SELECT string_agg(format('%s:%s/%s/%s/%s', e.source_id, a.llm_calls, a.tokens_in, a.tokens_out, a.invalid), ' '
		ORDER BY e.source_id) FROM event_analyses a JOIN events e ON e.id = a.event_id`).Scan(&usage); err != nil {
		t.Fatal(err)
	}
	if usage != "a:0/0/0/0 b:2/2000/100/0 c:2/2000/100/0" {
		t.Fatalf("recorded usage %q", usage)
	}

	// A second pass asks nothing.
	st, err = analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model()})
	if err != nil || st.Calls != 0 || st.Written != 0 || calls.Load() != 5 {
		t.Fatalf("second pass: %+v, %v, %d requests", st, err, calls.Load())
	}
}

// TestExhaustedQuotaStopsThePass: a 429 insufficient_quota is no event's
// fault and no retry helps, so the pass stops at once with the quota's
// error; the events it was analysing are released (pending, their attempt
// given back), none failed or dead-lettered, and the server is not asked
// again.
func TestExhaustedQuotaStopsThePass(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)
	}))
	defer srv.Close()

	pool := pgtest.New(t)
	var jsonl strings.Builder
	for i := range 20 {
		fmt.Fprintf(&jsonl, `{"id":"e%02d","occurred_at":"2026-04-%02d","title":"Talks in Islamabad, round %d","summary":"Delegations meet in Islamabad for round %d of talks."}`+"\n", i, i+1, i, i)
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(jsonl.String())); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "test", MinBackoff: time.Millisecond})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "test-chat"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model(), Concurrency: 2, MaxAttempts: 1})
	if !errors.Is(err, openaiclient.ErrQuota) {
		t.Fatalf("Analyze: %v; want the exhausted quota", err)
	}
	if st.Failed != 0 || st.Dead != 0 || st.Analysed > 1 {
		t.Fatalf("stats %+v: nothing may be failed or dead-lettered, and only e00 (no prior, no call) done", st)
	}
	if n := calls.Load(); n > 2 {
		t.Fatalf("%d chat requests; the pass must stop at the first answers (2 in flight)", n)
	}
	var notPending, attempts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status NOT IN ('pending', 'done')), coalesce(sum(attempts) FILTER (WHERE status = 'pending'), 0)
		FROM event_analyses`).Scan(&notPending, &attempts); err != nil {
		t.Fatal(err)
	}
	if notPending != 0 || attempts != 0 {
		t.Fatalf("%d analyses neither pending nor done, %d attempts counted: released events keep their attempts", notPending, attempts)
	}
}
