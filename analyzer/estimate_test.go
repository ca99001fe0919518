package analyzer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/tokens"
)

// tokenCountingChat answers every chat call relating "Event 1", reporting
// as prompt_tokens what it counts itself in the request — the messages with
// their chat framing and the response schema — with relator's tokenizer.
func tokenCountingChat(t *testing.T, model string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat struct {
				JSONSchema struct {
					Schema json.RawMessage `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msgs []tokens.Message
		for _, m := range req.Messages {
			msgs = append(msgs, tokens.Message{Role: m.Role, Content: m.Content})
		}
		n, _ := tokens.Chat(model, msgs...)
		s, _ := tokens.Count(model, string(req.ResponseFormat.JSONSchema.Schema))
		content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": n + s, "completion_tokens": 40, "total_tokens": n + s + 40}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// importSample imports the first n events of the development set.
func importSample(t *testing.T, ctx context.Context, pool *pgxpool.Pool, n int) {
	t.Helper()
	f, err := os.Open("../testdata/wikitimes-2015-09/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
}

// TestEstimateCountsThePromptsTheAnalysisSends: for embedded events, the
// estimate renders the very prompts the analysis then sends — the same
// calls, the same prompt tokens as the server counts them — and sends
// nothing itself; events not embedded yet are estimated with stand-ins.
func TestEstimateCountsThePromptsTheAnalysisSends(t *testing.T) {
	ctx := context.Background()
	const model = "gpt-4o-mini"
	srv, calls := tokenCountingChat(t, model)
	pool := pgtest.New(t)
	importSample(t, ctx, pool, 60)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 256})
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "test"})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	opts := analyzer.Options{EmbeddingModel: e.Model(), Search: embeddings.SearchOptions{K: 8}}

	before, err := analyzer.EstimateAnalysis(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if before.Events != 60 || before.StandIn != 60 || before.Calls != 59 || before.TokensIn == 0 {
		t.Fatalf("estimate before embedding: %+v", before)
	}

	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	est, err := analyzer.EstimateAnalysis(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 {
		t.Fatalf("estimates made %d chat calls", calls.Load())
	}
	st, err := analyzer.Analyze(ctx, pool, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if est.Events != 60 || est.StandIn != 0 || est.Calls != st.Calls || est.TokensIn != st.TokensIn ||
		est.TokensOut != st.Calls*analyzer.ExpectedOutputTokens {
		t.Fatalf("estimate %+v; the analysis made %d calls with %d prompt tokens", est, st.Calls, st.TokensIn)
	}
	after, err := analyzer.EstimateAnalysis(ctx, pool, c, opts)
	if err != nil || after.Events != 0 || after.Calls != 0 {
		t.Fatalf("estimate with nothing left: %+v, %v", after, err)
	}
}
