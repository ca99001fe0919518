package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// fakeOpenAI speaks the two endpoints relator uses. Embeddings come from the
// offline embedder (so that retrieval is meaningful); every chat reply
// relates "Event 1" to the New Event.
func fakeOpenAI(t *testing.T) (*httptest.Server, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	offline := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	var embedCalls, chatCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/embeddings":
			embedCalls.Add(1)
			serveEmbeddings(w, r, offline)
		case "/v1/chat/completions":
			chatCalls.Add(1)
			var req openai.ChatCompletionRequest
			json.NewDecoder(r.Body).Decode(&req)
			user := req.Messages[len(req.Messages)-1].Content
			if !regexp.MustCompile(`<event number="1">`).MatchString(user) || req.ResponseFormat == nil || req.ResponseFormat.JSONSchema == nil {
				t.Errorf("chat request without numbered candidates or JSON schema")
			}
			content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
				"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
				"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &embedCalls, &chatCalls
}

func TestRunWithAnOpenAICompatibleServer(t *testing.T) {
	srv, embedCalls, chatCalls := fakeOpenAI(t)
	url := pgtest.NewDatabase(t)
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL": "test-embedder", "RELATOR_CHAT_MODEL": "test-chat",
	}
	runCLI := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
		if code != 0 {
			t.Fatalf("relator %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	runCLI("import", devSet)
	out := runCLI("run")
	// 428 events in batches of 256 (RELATOR_EMBED_BATCH): two embeddings
	// requests; one chat call per event with a prior.
	if embedCalls.Load() != 2 || chatCalls.Load() != 427 {
		t.Fatalf("%d embedding requests, %d chat calls; want 2 and 427\n%s", embedCalls.Load(), chatCalls.Load(), out)
	}
	for _, want := range []string{"embedded 428 events with test-embedder (2 requests, 4280 tokens)", "analysed 428 with test-chat", "wrote 427 relations (continuation 427)",
		"427 model calls, 213500 tokens in / 12810 out, 0 invalid",
		"cost unknown (no price for test-embedder; set RELATOR_PRICES=FILE or RELATOR_PRICE_IN/RELATOR_PRICE_OUT)"} {
		if !strings.Contains(out, want) {
			t.Errorf("run summary lacks %q:\n%s", want, out)
		}
	}
	out = runCLI("run")
	if !strings.Contains(out, "wrote 0 relations, 0 model calls") || !strings.Contains(out, "cost $0,") || chatCalls.Load() != 427 {
		t.Fatalf("second run: %s", out)
	}
	// The runs are listed with their accounting: the first one's cost
	// unknown (no price for its models), not 0; the second's 0 (no tokens).
	out = runCLI("runs", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	first := list[1]
	if first["embedding_requests"] != 2.0 || first["embedding_tokens"] != 4280.0 || first["llm_calls"] != 427.0 ||
		first["tokens_in"] != 213500.0 || first["cost_usd"] != nil || list[0]["cost_usd"] != 0.0 {
		t.Fatalf("runs --json: %v", list)
	}
	if out = runCLI("runs"); !regexp.MustCompile(`done .* 2/4280 +427 +0 +213500/12810 +unknown`).MatchString(out) {
		t.Fatalf("runs:\n%s", out)
	}
}

// serveEmbeddings answers an embeddings request of an OpenAI-compatible
// fake with offline's vectors, billing 10 tokens per input.
func serveEmbeddings(w http.ResponseWriter, r *http.Request, offline *embeddings.Offline) {
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	vecs, _ := offline.Embed(r.Context(), req.Input)
	var data []map[string]any
	for i, v := range vecs {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]any{"prompt_tokens": 10 * len(req.Input), "total_tokens": 10 * len(req.Input)}})
}
