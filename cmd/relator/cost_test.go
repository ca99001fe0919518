package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/embeddings"
)

// countingModel is an OpenAI-compatible server that embeds with the
// offline embedder's vectors, relates "Event 1" in every chat reply, and
// counts requests: embeddings, chat calls, and chat calls per New Event.
type countingModel struct {
	srv          *httptest.Server
	embeds, chat atomic.Int64
	mu           sync.Mutex
	perEvent     map[string]int // the <new_event> block → chat calls
}

var newEventBlock = regexp.MustCompile(`(?s)<new_event>.*</new_event>`)

func newCountingModel(t *testing.T) *countingModel {
	t.Helper()
	offline := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	m := &countingModel{perEvent: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/embeddings":
			m.embeds.Add(1)
			serveEmbeddings(w, r, offline)
		case "/v1/chat/completions":
			m.chat.Add(1)
			var req openai.ChatCompletionRequest
			json.NewDecoder(r.Body).Decode(&req)
			m.mu.Lock()
			m.perEvent[newEventBlock.FindString(req.Messages[len(req.Messages)-1].Content)]++
			m.mu.Unlock()
			content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
				"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
				"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *countingModel) environ(db string, extra ...string) []string {
	return append([]string{"DATABASE_URL=" + db, "OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + m.srv.URL + "/v1",
		"RELATOR_EMBEDDING_MODEL=text-embedding-3-small", "RELATOR_EMBEDDING_DIMENSIONS=64", "RELATOR_CHAT_MODEL=gpt-4o-mini",
		"RELATOR_MAX_RETRIES=0", "RELATOR_CONCURRENCY=4", "RELATOR_HTTP_ADDR=", "PATH=" + os.Getenv("PATH")}, extra...)
}

// TestRunStopsAtTheTokenBudgetAndTheNextRunFinishes: `relator run
// --max-tokens N` stops cleanly (exit 0, "stopped at budget", recorded as
// budget) having used at most N chat tokens, leaves the rest pending (not
// failed, no attempt counted), and a later run finishes it: every event
// with a prior is asked exactly once across both runs.
func TestRunStopsAtTheTokenBudgetAndTheNextRunFinishes(t *testing.T) {
	m := newCountingModel(t)
	url := freshSample(t)
	const budget = 20000
	first := start(t, m.environ(url), "run", "--max-tokens", "20000")
	if code := first.wait(t); code != 0 {
		t.Fatalf("budgeted run exited %d\n%s%s", code, first.stdout.String(), first.stderr.String())
	}
	out := first.stdout.String()
	t.Log(out)
	if !strings.Contains(out, "stopped at budget") || !strings.Contains(out, "left pending at the budget") {
		t.Fatalf("summary: %s", out)
	}
	calls := m.chat.Load()
	used := queryInt(t, url, `SELECT tokens_in + tokens_out FROM runs ORDER BY id LIMIT 1`)
	if calls == 0 || calls >= 427 || used > budget || used != int(calls)*530 {
		t.Fatalf("first run: %d calls, %d tokens (budget %d)\n%s", calls, used, budget, out)
	}
	if s := queryInt(t, url, `SELECT count(*) FROM runs WHERE status = 'budget'`); s != 1 {
		t.Fatalf("%d runs recorded at budget", s)
	}
	if bad := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status <> 'done' AND (status <> 'pending' OR attempts > 0)`); bad != 0 {
		t.Fatalf("%d analyses left failed, claimed or with an attempt counted", bad)
	}
	// The estimate of what is left: exactly the events left, with their
	// real candidates (everything is embedded now), and no request.
	left := 428 - queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
	est := start(t, m.environ(url), "run", "--estimate")
	if code := est.wait(t); code != 0 {
		t.Fatalf("estimate exited %d", code)
	}
	if want := fmt.Sprintf("analysing %d events with gpt-4o-mini: %d calls, ", left, left); !strings.Contains(est.stdout.String(), want) ||
		strings.Contains(est.stdout.String(), "stand-in") || !strings.Contains(est.stdout.String(), "embedding 0 events") {
		t.Fatalf("estimate after the budgeted run lacks %q or uses stand-ins:\n%s", want, est.stdout.String())
	}
	if m.chat.Load() != calls {
		t.Fatal("the estimate called the model")
	}
	second := start(t, m.environ(url), "run")
	if code := second.wait(t); code != 0 {
		t.Fatalf("second run exited %d\n%s%s", code, second.stdout.String(), second.stderr.String())
	}
	if m.chat.Load() != 427 {
		t.Fatalf("%d chat calls over both runs, want 427 (one per event with a prior)", m.chat.Load())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for block, n := range m.perEvent {
		if n > 1 {
			t.Errorf("a New Event was asked %d times: %.120s", n, block)
		}
	}
	if done := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`); done != 428 {
		t.Fatalf("%d events analysed, want 428", done)
	}
	if !strings.Contains(second.stdout.String(), "cost $") {
		t.Fatalf("second summary has no cost: %s", second.stdout.String())
	}
}

// TestEstimateSendsNothing: `relator run --estimate` and `relator backfill
// --estimate` on the freshly imported sample print calls, tokens and cost
// and make no request at all to the model server, embeddings included, and
// write no run.
func TestEstimateSendsNothing(t *testing.T) {
	m := newCountingModel(t)
	url := freshSample(t)
	est := start(t, m.environ(url), "run", "--estimate")
	if code := est.wait(t); code != 0 {
		t.Fatalf("run --estimate exited %d\n%s%s", code, est.stdout.String(), est.stderr.String())
	}
	out := est.stdout.String()
	t.Log(out)
	if !regexp.MustCompile(`run: estimate: .* out expected, cost \$0\.[0-9]+ at list prices of`).MatchString(out) {
		t.Errorf("estimate has no cost:\n%s", out)
	}
	for _, want := range []string{
		"estimate: embedding 428 events with text-embedding-3-small@64: 2 requests, ",
		"estimate: analysing 428 events with gpt-4o-mini: 427 calls, ",
		"428 of them not embedded yet, so rendered with stand-in candidates",
		"106750 tokens out expected (250 per call",
		"run: estimate: 2 embedding requests, 427 model calls, ", "nothing sent, nothing written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("estimate lacks %q:\n%s", want, out)
		}
	}
	bf := start(t, m.environ(url), "backfill", "--from", "2015-09-10", "--to", "2015-09-12", "--estimate")
	if code := bf.wait(t); code != 0 {
		t.Fatalf("backfill --estimate exited %d\n%s%s", code, bf.stdout.String(), bf.stderr.String())
	}
	if !strings.Contains(bf.stdout.String(), "backfill: estimate: ") {
		t.Errorf("backfill estimate: %s", bf.stdout.String())
	}
	if m.embeds.Load() != 0 || m.chat.Load() != 0 {
		t.Fatalf("estimates sent %d embeddings requests and %d chat calls", m.embeds.Load(), m.chat.Load())
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs`) + queryInt(t, url, `SELECT count(*) FROM embeddings`); n != 0 {
		t.Fatalf("estimates wrote %d runs and vectors", n)
	}

}

// TestRunStopsAtTheCostBudget: `--max-cost` stops the pass before the call
// that would cross it, at the price table's prices; without a price for
// the chat model it refuses to start, naming the model.
func TestRunStopsAtTheCostBudget(t *testing.T) {
	m := newCountingModel(t)
	url := freshSample(t)
	p := start(t, m.environ(url), "run", "--max-cost", "0.002")
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	out := p.stdout.String()
	left := 428 - queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
	if !strings.Contains(out, "stopped at budget") || !strings.Contains(out, fmt.Sprintf(", %d events left for the next pass", left)) {
		t.Fatalf("summary: %s", out)
	}
	cost := queryFloat(t, url, `SELECT cost_usd::float8 FROM runs`)
	if m.chat.Load() == 0 || left == 0 || cost <= 0 || cost > 0.002 {
		t.Fatalf("%d calls, %d events left, cost %v of $0.002", m.chat.Load(), left, cost)
	}
	p = start(t, m.environ(url, "RELATOR_CHAT_MODEL=test-chat"), "run", "--max-cost", "1")
	if code := p.wait(t); code == 0 || !strings.Contains(p.stderr.String(), "a cost budget needs the chat model's price: cost unknown (no price for test-chat") {
		t.Fatalf("exit %d without a price\n%s", code, p.stderr.String())
	}
}

// TestOfflineEstimate: the offline providers make no requests, and the
// estimate says so, at no cost.
func TestOfflineEstimate(t *testing.T) {
	url := freshSample(t)
	out := mustCLI(t, url, "run", "--estimate")
	for _, want := range []string{"embedding 428 events with offline-hash-v1-1024: 0 requests, 0 tokens", "analysing 428 events with offline-rules-v1: no model calls",
		"run: estimate: 0 embedding requests, 0 model calls, 0 tokens in / 0 out expected, cost $0 at list prices"} {
		if !strings.Contains(out, want) {
			t.Errorf("offline estimate lacks %q:\n%s", want, out)
		}
	}
}

func queryFloat(t *testing.T, url, sql string) float64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var f float64
	if err := conn.QueryRow(context.Background(), sql).Scan(&f); err != nil {
		t.Fatal(err)
	}
	return f
}
