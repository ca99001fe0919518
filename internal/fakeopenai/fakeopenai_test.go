package fakeopenai_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relator/relator/internal/fakeopenai"
)

func post(t *testing.T, url, body string) (int, http.Header, string, error) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

const chatBody = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

func TestFaultServerAnswersEachCallAsScheduled(t *testing.T) {
	var answered atomic.Int64
	srv := fakeopenai.New(fakeopenai.Options{
		Chat: func(n int64) fakeopenai.Fault {
			return []fakeopenai.Fault{fakeopenai.RateLimited, fakeopenai.Quota, fakeopenai.Status502, fakeopenai.ResetMidBody, fakeopenai.None}[n-1]
		},
		OnAnswer: func(n int64) { answered.Store(n) },
	})
	defer srv.Close()
	url := srv.BaseURL() + "/chat/completions"

	code, h, body, _ := post(t, url, chatBody)
	if code != 429 || h.Get("Retry-After-Ms") != "50" || !strings.Contains(body, "rate_limit_exceeded") {
		t.Errorf("rate limited: %d %v %s", code, h, body)
	}
	if code, _, body, _ = post(t, url, chatBody); code != 429 || !strings.Contains(body, "insufficient_quota") {
		t.Errorf("quota: %d %s", code, body)
	}
	if code, _, _, _ = post(t, url, chatBody); code != 502 {
		t.Errorf("502: %d", code)
	}
	if _, _, _, err := post(t, url, chatBody); err == nil {
		t.Error("a reset mid-body read without error")
	}
	if answered.Load() != 0 {
		t.Error("OnAnswer called for a fault")
	}
	if code, _, body, _ = post(t, url, chatBody); code != 200 || !strings.Contains(body, `\"event\":1`) || answered.Load() != 5 {
		t.Errorf("good answer: %d %s (answered %d)", code, body, answered.Load())
	}
	if srv.Chats.Load() != 5 || srv.Answers.Load() != 1 {
		t.Errorf("counters: %d chats, %d answers", srv.Chats.Load(), srv.Answers.Load())
	}
}

func TestFaultServerEmbeddings(t *testing.T) {
	srv := fakeopenai.New(fakeopenai.Options{Embed: fakeopenai.First(1, fakeopenai.NaNVector), Dimensions: 8})
	defer srv.Close()
	url := srv.BaseURL() + "/embeddings"
	in := `{"model":"e","input":["Delegations meet in Islamabad","Ceasefire agreed in Gaza"]}`
	if _, _, body, _ := post(t, url, in); !strings.Contains(body, "[NaN,") {
		t.Errorf("NaN vector: %s", body)
	}
	if code, _, body, _ := post(t, url, in); code != 200 || strings.Contains(body, "NaN") || strings.Count(body, `"embedding":[`) != 2 {
		t.Errorf("good answer: %d %s", code, body)
	}
}
