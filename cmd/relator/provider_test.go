package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// quotaServer embeds (with the offline embedder's vectors) and answers
// every chat call with OpenAI's exhausted-quota 429.
func quotaServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	offline := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	var chatCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/embeddings":
			serveEmbeddings(w, r, offline)
		case "/v1/chat/completions":
			chatCalls.Add(1)
			w.Header().Set("Retry-After", "20")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &chatCalls
}

// TestRunStopsAtAnExhaustedQuota: `relator run` against a server whose
// quota is spent stops at the first answers, exits 1 with a message that
// names the quota, and leaves the events pending (attempts given back),
// none failed or dead-lettered, so that the next run after a top-up does
// them all.
func TestRunStopsAtAnExhaustedQuota(t *testing.T) {
	srv, chatCalls := quotaServer(t)
	url := pgtest.NewDatabase(t)
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL": "test-embedder", "RELATOR_CHAT_MODEL": "test-chat", "RELATOR_CONCURRENCY": "4",
	}
	runCLI := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
		return code, stdout.String(), stderr.String()
	}
	if code, out, errOut := runCLI("import", devSet); code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI("run")
	if code != 1 {
		t.Fatalf("exit %d; want 1\n%s%s", code, out, errOut)
	}
	t.Logf("stdout: %s\nstderr: %s", out, errOut)
	last := strings.TrimSpace(errOut)
	last = last[strings.LastIndexByte(last, '\n')+1:]
	for _, want := range []string{"relator run: ", "model API quota exhausted (HTTP 429 insufficient_quota): You exceeded your current quota", "pending"} {
		if !strings.Contains(last, want) {
			t.Errorf("last line of stderr lacks %q:\n%s", want, last)
		}
	}
	if n := chatCalls.Load(); n > 4 {
		t.Errorf("%d chat calls; the pass must stop at the first answers (4 in flight at most)", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status NOT IN ('pending', 'done') OR (status = 'pending' AND attempts > 0)`); n != 0 {
		t.Errorf("%d analyses failed, dead, claimed or charged an attempt; want all left pending", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE status = 'failed' AND error LIKE '%quota exhausted%'`); n != 1 {
		t.Errorf("the run is not recorded as failed with the quota's error")
	}
	_, status, _ := runCLI("status")
	if strings.Contains(status, " failed") && !strings.Contains(status, "0 failed") {
		t.Errorf("status shows failures:\n%s", status)
	}
}

// TestOnlyWhatIsReadCausesNewCalls: neither the embedded text nor the
// prompt reads actors' responses, so a response-only change costs no
// embedding request and no model call; a summary change costs one of each.
func TestOnlyWhatIsReadCausesNewCalls(t *testing.T) {
	srv, embedCalls, chatCalls := fakeOpenAI(t)
	url := pgtest.NewDatabase(t)
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL": "test-embedder", "RELATOR_CHAT_MODEL": "test-chat",
	}
	file := t.TempDir() + "/events.jsonl"
	cli := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
		if code != 0 {
			t.Fatalf("relator %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	importEvents := func(summary, response string) string {
		t.Helper()
		jsonl := `{"id":"a","occurred_at":"2026-04-01","summary":"Iran signals openness to talks.","actors":[{"name":"Iran","response":"welcomed"}]}
{"id":"b","occurred_at":"2026-04-05","summary":"` + summary + `","actors":[{"name":"Iran","response":"` + response + `"},"Pakistan"]}
`
		if err := os.WriteFile(file, []byte(jsonl), 0o644); err != nil {
			t.Fatal(err)
		}
		return cli("import", file)
	}
	calls := func() (int64, int64) { return embedCalls.Load(), chatCalls.Load() }

	importEvents("Talks open in Islamabad.", "hopeful")
	cli("run")
	embeds, chats := calls()
	if embeds != 1 || chats != 1 {
		t.Fatalf("first run: %d embedding requests, %d chat calls; want 1 and 1", embeds, chats)
	}

	// An actor's response changes: stored, shown by relator show, read by
	// neither embedding nor analysis.
	if out := importEvents("Talks open in Islamabad.", "sceptical"); !strings.Contains(out, "1 updated") {
		t.Fatalf("import of a changed response: %s", out)
	}
	out := cli("run")
	if e, c := calls(); e != embeds || c != chats {
		t.Fatalf("a response-only change made %d embedding requests and %d chat calls; want none\n%s", e-embeds, c-chats, out)
	}
	if show := cli("show", "b"); !strings.Contains(show, "Iran: sceptical") {
		t.Fatalf("the new response is not stored:\n%s", show)
	}

	// The summary changes: both read it.
	importEvents("Talks open in Islamabad with both delegations.", "sceptical")
	cli("run")
	if e, c := calls(); e != embeds+1 || c != chats+1 {
		t.Fatalf("a summary change made %d embedding requests and %d chat calls; want 1 and 1", e-embeds, c-chats)
	}
}

// TestRunAgainstAzureDeployments: with RELATOR_OPENAI_API_TYPE=azure, both
// the embeddings and the chat calls of `relator run` go to their
// deployments' paths with the api-version and the api-key header, and
// nowhere else.
func TestRunAgainstAzureDeployments(t *testing.T) {
	offline := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	var embedCalls, chatCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if got := r.URL.Query().Get("api-version"); got != "2024-10-21" || r.Header.Get("api-key") != "azure-key" || r.Header.Get("Authorization") != "" {
			t.Errorf("%s %s: api-version %q, api-key %q, Authorization %q", r.Method, r.URL, got, r.Header.Get("api-key"), r.Header.Get("Authorization"))
		}
		switch r.URL.Path {
		case "/openai/deployments/emb/embeddings":
			embedCalls.Add(1)
			var req struct {
				Input []string `json:"input"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			vecs, _ := offline.Embed(r.Context(), req.Input)
			var data []map[string]any
			for i, v := range vecs {
				data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
			}
			json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data,
				"usage": map[string]any{"prompt_tokens": 7 * len(req.Input), "total_tokens": 7 * len(req.Input)}})
		case "/openai/deployments/chat/chat/completions":
			chatCalls.Add(1)
			content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion",
				"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
				"usage":   map[string]any{"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930}})
		default:
			t.Errorf("request to %s", r.URL)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	url := pgtest.NewDatabase(t)
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "azure-key", "OPENAI_BASE_URL": srv.URL,
		"RELATOR_OPENAI_API_TYPE": "azure", "RELATOR_AZURE_DEPLOYMENTS": "gpt-4o-mini=chat,text-embedding-3-small=emb",
		"RELATOR_EMBEDDING_DIMENSIONS": "64",
	}
	file := t.TempDir() + "/events.jsonl"
	os.WriteFile(file, []byte(`{"id":"a","occurred_at":"2026-04-01","summary":"Iran signals openness to talks."}
{"id":"b","occurred_at":"2026-04-05","summary":"Talks open in Islamabad."}
{"id":"c","occurred_at":"2026-04-09","summary":"The Islamabad talks set a framework."}
`), 0o644)
	for _, args := range [][]string{{"import", file}, {"run"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
		if code != 0 {
			t.Fatalf("relator %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		if args[0] == "run" && !strings.Contains(stdout.String(), "wrote 2 relations") {
			t.Fatalf("run: %s", stdout.String())
		}
	}
	if embedCalls.Load() != 1 || chatCalls.Load() != 2 {
		t.Fatalf("%d embeddings requests, %d chat calls; want 1 and 2", embedCalls.Load(), chatCalls.Load())
	}
}
