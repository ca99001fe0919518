package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
				"usage": map[string]any{"prompt_tokens": 10 * len(req.Input), "total_tokens": 10 * len(req.Input)}})
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
