package analyzer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/events"
)

// TestBatchLineCarriesTheSynchronousRequest: the body of a batch request
// is, field for field, the request Classify sends for the same event.
func TestBatchLineCarriesTheSynchronousRequest(t *testing.T) {
	var sent json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&sent)
		json.NewEncoder(w).Encode(map[string]any{"object": "chat.completion", "choices": []map[string]any{{"index": 0,
			"finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": `{"relations":[]}`}}}})
	}))
	defer srv.Close()
	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = srv.URL + "/v1"
	c, err := NewOpenAI(openai.NewClientWithConfig(cfg), OpenAIOptions{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2015, 9, 2, 0, 0, 0, 0, time.UTC)
	newEvent := events.Event{ID: 2, SourceID: "b", OccurredAt: at, Title: "Talks resume in Geneva"}
	cands := []Candidate{{Number: 1, Event: events.Event{ID: 1, SourceID: "a", OccurredAt: at.Add(-24 * time.Hour), Title: "Talks stall"}}}
	if _, err := c.Classify(context.Background(), newEvent, cands); err != nil {
		t.Fatal(err)
	}
	first, err := c.render(newEvent, cands)
	if err != nil {
		t.Fatal(err)
	}
	line, err := batchLine("2/gpt-4o-mini/v", first.req)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		CustomID string          `json:"custom_id"`
		Method   string          `json:"method"`
		URL      string          `json:"url"`
		Body     json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(line, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.CustomID != "2/gpt-4o-mini/v" || parsed.Method != "POST" || parsed.URL != "/v1/chat/completions" {
		t.Fatalf("line: %s", line)
	}
	if string(parsed.Body) != strings.TrimSpace(string(sent)) {
		t.Fatalf("batch body differs from the synchronous request:\n%s\n%s", parsed.Body, sent)
	}
}

// TestParseResultsNamesTheBadLine: an output file line that is not JSON or
// names no request fails the file with its line number and field.
func TestParseResultsNamesTheBadLine(t *testing.T) {
	ok := `{"custom_id":"1/m/v","response":{"status_code":200,"body":{"choices":[]}}}`
	if _, err := parseResults([]byte(ok + "\n{not json}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want an error naming line 2", err)
	}
	if _, err := parseResults([]byte(ok + "\n" + `{"response":null}`)); err == nil || !strings.Contains(err.Error(), "line 2: field custom_id") {
		t.Fatalf("got %v, want an error naming line 2's custom_id", err)
	}
	rs, err := parseResults([]byte(ok + "\n\n" + `{"custom_id":"2/m/v","response":{"status_code":500,"body":{"error":"x"}}}` + "\n" +
		`{"custom_id":"3/m/v","response":null,"error":{"code":"batch_expired","message":"not done in time"}}`))
	if err != nil || len(rs) != 3 {
		t.Fatalf("%d results, %v", len(rs), err)
	}
	if _, good, _ := rs[0].reply(); !good {
		t.Fatal("a 200 response is a reply")
	}
	if _, good, why := rs[1].reply(); good || !strings.Contains(why, "status 500") {
		t.Fatalf("a 500 response: %v %q", good, why)
	}
	if _, good, why := rs[2].reply(); good || !strings.Contains(why, "batch_expired") {
		t.Fatalf("an error line: %v %q", good, why)
	}
	if rs[1].unanswered() || !rs[2].unanswered() {
		t.Fatal("only a request the batch never ran is unanswered")
	}
}
