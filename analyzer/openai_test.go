package analyzer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/prompts"
)

// chatServer is a scripted OpenAI-compatible server: it records the body of
// every POST /chat/completions and answers each request with the next reply
// of its queue.
type chatServer struct {
	t     *testing.T
	url   string
	mu    sync.Mutex
	queue []fakeReply
	reqs  []chatRequest
}

// fakeReply is one scripted HTTP response.
type fakeReply struct {
	status     int
	retryAfter string
	body       string
}

// chatRequest is the part of a chat completions request body the tests
// look at, decoded from the wire.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
		Refusal string `json:"refusal"`
	} `json:"messages"`
	Temperature         *float64 `json:"temperature"`
	MaxTokens           int      `json:"max_tokens"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
	ResponseFormat      struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

func newChatServer(t *testing.T, replies ...fakeReply) *chatServer {
	t.Helper()
	s := &chatServer{t: t, queue: replies}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *chatServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/chat/completions" {
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	var req chatRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		s.t.Errorf("reading request body: %v", err)
	}
	s.reqs = append(s.reqs, req)
	if len(s.queue) == 0 {
		s.t.Errorf("unexpected request %d: no reply left", len(s.reqs))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	reply := s.queue[0]
	s.queue = s.queue[1:]
	if reply.retryAfter != "" {
		w.Header().Set("Retry-After", reply.retryAfter)
	}
	if reply.status != 0 {
		w.WriteHeader(reply.status)
	}
	io.WriteString(w, reply.body)
}

// requests returns the requests received so far.
func (s *chatServer) requests() []chatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chatRequest(nil), s.reqs...)
}

// classifier returns a classifier of "gpt-4o-mini" talking to s through
// openaiclient with millisecond backoffs.
func (s *chatServer) classifier(t *testing.T) *analyzer.OpenAI {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	client := openaiclient.New(openaiclient.Options{BaseURL: s.url, APIKey: "test",
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: quiet})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// completion is a 200 reply whose only choice carries content (or, when
// refusal is set, a refusal and null content).
func completion(content, refusal, finish string, tokensIn, tokensOut int) fakeReply {
	msg := map[string]any{"role": "assistant", "content": content}
	if refusal != "" {
		msg["content"], msg["refusal"] = nil, refusal
	}
	body, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   map[string]int{"prompt_tokens": tokensIn, "completion_tokens": tokensOut, "total_tokens": tokensIn + tokensOut},
	})
	return fakeReply{body: string(body)}
}

// answer is a complete reply ("stop") with content.
func answer(content string, tokensIn, tokensOut int) fakeReply {
	return completion(content, "", "stop", tokensIn, tokensOut)
}

// apiError is an OpenAI-style error reply.
func apiError(status int, retryAfter, message string) fakeReply {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": "invalid_request_error"}})
	return fakeReply{status: status, retryAfter: retryAfter, body: string(body)}
}

// relations is a reply's JSON object with the given items.
func relations(items ...string) string {
	return `{"relations": [` + strings.Join(items, ", ") + `]}`
}

// item is one reply item with a rationale that passes validation.
func item(n int, typ string, conf float64) string {
	return itemWith(n, typ, conf, rationale(n))
}

func itemWith(n int, typ string, conf float64, rationale string) string {
	b, _ := json.Marshal(map[string]any{"event": n, "type": typ, "confidence": conf, "rationale": rationale})
	return string(b)
}

func rationale(n int) string {
	return "Event " + strconv.Itoa(n) + " reports the first round of talks. It led directly to the New Event."
}

// related is the relation item(n, typ, conf) stands for.
func related(n int, typ analyzer.RelationType, conf float64) analyzer.Relation {
	return analyzer.Relation{Number: n, Type: typ, Confidence: conf, Rationale: rationale(n)}
}

// scene is a New Event and k numbered candidates.
func scene(k int) (events.Event, []analyzer.Candidate) {
	newEvent := events.Event{
		ID: 100, SourceID: "new-1", OccurredAt: time.Date(2026, 4, 13, 9, 30, 0, 0, time.UTC),
		Title:   "US-Iran talks in Islamabad set a framework",
		Summary: "Talks yielded no breakthrough but a framework for continued negotiations.",
		Content: "Officials said the talks generated momentum.",
		Actors:  []events.Actor{{Name: "United States"}, {Name: "Iran"}},
	}
	cands := make([]analyzer.Candidate, k)
	for i := range cands {
		n := i + 1
		cands[i] = analyzer.Candidate{Number: n, Similarity: 0.9 - float64(n)/100, Event: events.Event{
			ID: int64(n), SourceID: fmt.Sprintf("prior-%d", n), OccurredAt: time.Date(2026, 4, n, 12, 0, 0, 0, time.UTC),
			Title: fmt.Sprintf("Prior headline %d", n), Summary: fmt.Sprintf("What prior event %d reported.", n),
		}}
	}
	return newEvent, cands
}

// classify runs c on the standard 15-candidate scene.
func classify(t *testing.T, c *analyzer.OpenAI) (analyzer.Result, error) {
	t.Helper()
	newEvent, cands := scene(15)
	return c.Classify(context.Background(), newEvent, cands)
}

func checkResult(t *testing.T, got, want analyzer.Result) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result\n got %+v\nwant %+v", got, want)
	}
}

// checkRepair checks that the second request is the first conversation,
// the first reply as the assistant's message, and a repair message listing
// exactly problems; it returns that assistant message's content.
func checkRepair(t *testing.T, reqs []chatRequest, problems ...string) (assistant chatRequest) {
	t.Helper()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want 2", len(reqs))
	}
	first, second := reqs[0], reqs[1]
	var roles []string
	for _, m := range second.Messages {
		roles = append(roles, m.Role)
	}
	if want := []string{"system", "user", "assistant", "user"}; !reflect.DeepEqual(roles, want) {
		t.Fatalf("retry roles %v; want %v", roles, want)
	}
	if second.Messages[0] != first.Messages[0] || second.Messages[1] != first.Messages[1] {
		t.Error("the retry must repeat the first call's system and user messages")
	}
	repair, err := prompts.Repair(problems)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Messages[3].Content; got != repair {
		t.Errorf("repair message\n%s\nwant\n%s", got, repair)
	}
	if second.ResponseFormat.Type != "json_schema" {
		t.Error("the retry must ask for the same response format")
	}
	return second
}

func TestOpenAIValidReply(t *testing.T) {
	reply := relations(
		itemWith(3, "continuation", 0.85, "\n  "+rationale(3)+"  "),
		item(14, "causes", 0.9),
	)
	srv := newChatServer(t, answer(reply, 1200, 150))
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.85), related(14, analyzer.Causes, 0.9)},
		Calls:     1, TokensIn: 1200, TokensOut: 150,
	})

	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests; want 1", len(reqs))
	}
	req := reqs[0]
	if req.Model != "gpt-4o-mini" || req.MaxTokens != analyzer.DefaultMaxTokens {
		t.Errorf("model %q, max_tokens %d", req.Model, req.MaxTokens)
	}
	// Temperature 0 must reach the server, not be left out for its default.
	if req.Temperature == nil || *req.Temperature > 1e-5 {
		t.Errorf("temperature %v; want sent and near 0", req.Temperature)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("messages %+v; want system and user", req.Messages)
	}
	user := req.Messages[1].Content
	for _, want := range []string{
		"<new_event>", "Date: 2026-04-13", "Title: US-Iran talks in Islamabad set a framework",
		"Officials said the talks generated momentum.", "Actors: United States; Iran",
		"The candidates, 15 earlier events numbered 1 to 15:", "Which of Event 1 to Event 15 are related to the New Event?",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("user message lacks %q", want)
		}
	}
	for n := 1; n <= 15; n++ {
		want := fmt.Sprintf("<event number=\"%d\">\nDate: 2026-04-%02d\nTitle: Prior headline %d\nSummary: What prior event %d reported.\n</event>", n, n, n, n)
		if !strings.Contains(user, want) {
			t.Errorf("user message lacks candidate %d as %q", n, want)
		}
	}

	rf := req.ResponseFormat
	if rf.Type != "json_schema" || rf.JSONSchema.Name != "relations" || !rf.JSONSchema.Strict {
		t.Errorf("response_format %+v; want a strict json_schema named relations", rf)
	}
	type property struct {
		Type string   `json:"type"`
		Enum []string `json:"enum"`
	}
	var schema struct {
		Type                 string   `json:"type"`
		Required             []string `json:"required"`
		AdditionalProperties *bool    `json:"additionalProperties"`
		Properties           struct {
			Relations struct {
				Type  string `json:"type"`
				Items struct {
					Type                 string              `json:"type"`
					Required             []string            `json:"required"`
					AdditionalProperties *bool               `json:"additionalProperties"`
					Properties           map[string]property `json:"properties"`
				} `json:"items"`
			} `json:"relations"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(rf.JSONSchema.Schema, &schema); err != nil {
		t.Fatalf("schema %s: %v", rf.JSONSchema.Schema, err)
	}
	// A constrained model writes properties in schema order: the candidate
	// first, its confidence only after its type.
	raw := string(rf.JSONSchema.Schema)
	if e, ty, c, r := strings.Index(raw, `"event":`), strings.Index(raw, `"type":{"type":"string"`),
		strings.Index(raw, `"confidence":`), strings.Index(raw, `"rationale":`); !(e < ty && ty < c && c < r) {
		t.Errorf("schema properties out of order: %s", raw)
	}
	items := schema.Properties.Relations.Items
	var names []string
	for _, info := range analyzer.Taxonomy() {
		names = append(names, string(info.Type))
	}
	switch {
	case schema.Type != "object" || !reflect.DeepEqual(schema.Required, []string{"relations"}) ||
		schema.AdditionalProperties == nil || *schema.AdditionalProperties:
		t.Errorf("schema root: %s", rf.JSONSchema.Schema)
	case schema.Properties.Relations.Type != "array" || items.Type != "object" ||
		items.AdditionalProperties == nil || *items.AdditionalProperties:
		t.Errorf("schema relations: %s", rf.JSONSchema.Schema)
	case !reflect.DeepEqual(items.Required, []string{"event", "type", "confidence", "rationale"}):
		t.Errorf("schema item required %v", items.Required)
	case !reflect.DeepEqual(items.Properties, map[string]property{
		"event": {Type: "integer"}, "type": {Type: "string", Enum: names},
		"confidence": {Type: "number"}, "rationale": {Type: "string"},
	}):
		t.Errorf("schema item properties %+v", items.Properties)
	}
}

func TestOpenAIRetriesUnknownCandidates(t *testing.T) {
	first := relations(item(0, "causes", 0.9), item(3, "continuation", 0.8), item(16, "parallel", 0.6))
	srv := newChatServer(t,
		answer(first, 1000, 100),
		answer(relations(item(3, "continuation", 0.8), item(5, "response", 0.7)), 1300, 80),
	)
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.8), related(5, analyzer.Response, 0.7)},
		Calls:     2, TokensIn: 2300, TokensOut: 180,
	})
	retry := checkRepair(t, srv.requests(),
		"relations[0]: event 0 is not a candidate number (1..15)",
		"relations[2]: event 16 is not a candidate number (1..15)",
	)
	if got := retry.Messages[2].Content; got != first {
		t.Errorf("assistant message %q; want the first reply %q", got, first)
	}
}

func TestOpenAIDropsTypesOutsideTaxonomyAfterRetry(t *testing.T) {
	srv := newChatServer(t,
		answer(relations(item(3, "continuation", 0.8), item(5, "related", 0.6)), 1000, 100),
		answer(relations(item(3, "continuation", 0.8), item(5, "unrelated", 0.6), item(7, "Escalation", 0.7)), 1300, 120),
	)
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.8)},
		Invalid:   2, Calls: 2, TokensIn: 2300, TokensOut: 220,
	})
	checkRepair(t, srv.requests(), `relations[1]: type "related" is not one of the listed types`)
}

func TestOpenAIDuplicateCandidates(t *testing.T) {
	dup := relations(item(3, "continuation", 0.8), item(4, "parallel", 0.6), item(3, "escalation", 0.7))
	srv := newChatServer(t, answer(dup, 1000, 100), answer(dup, 1300, 100))
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.8), related(4, analyzer.Parallel, 0.6)},
		Invalid:   1, Calls: 2, TokensIn: 2300, TokensOut: 200,
	})
	checkRepair(t, srv.requests(), "relations[2]: event 3 is listed again (first at relations[0])")
}

func TestOpenAIRetriesTruncatedReply(t *testing.T) {
	cut := `{"relations": [` + item(3, "continuation", 0.8) + `, {"event": 5, "type": "resp`
	srv := newChatServer(t,
		completion(cut, "", "length", 1000, 4096),
		answer(relations(item(3, "continuation", 0.8), item(5, "response", 0.7)), 1300, 200),
	)
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.8), related(5, analyzer.Response, 0.7)},
		Calls:     2, TokensIn: 2300, TokensOut: 4296,
	})
	retry := checkRepair(t, srv.requests(),
		"reply was cut off at the output token limit before its JSON object ended; keep rationales to one to three sentences")
	if got := retry.Messages[2].Content; got != cut {
		t.Errorf("assistant message %q; want the cut reply", got)
	}
}

func TestOpenAIRefusedTwice(t *testing.T) {
	const refusal = "I'm sorry, I can't help with that."
	srv := newChatServer(t,
		completion("", refusal, "stop", 1000, 10),
		completion("", refusal, "stop", 1100, 10),
	)
	// Refused again after the repair: a failed attempt, not an analysis
	// with nothing related.
	res, err := classify(t, srv.classifier(t))
	if !errors.Is(err, analyzer.ErrUnusableReply) || !strings.Contains(err.Error(), "refusal") {
		t.Fatalf("error %v; want the unusable reply's", err)
	}
	checkResult(t, res, analyzer.Result{Calls: 2, TokensIn: 2100, TokensOut: 20})
	retry := checkRepair(t, srv.requests(), "reply is a refusal: "+refusal)
	if m := retry.Messages[2]; m.Refusal != refusal || m.Content != "" {
		t.Errorf("assistant message %+v; want the refusal sent back", m)
	}
}

func TestOpenAIUnreadableRetryKeepsFirstValidItems(t *testing.T) {
	srv := newChatServer(t,
		answer(relations(item(3, "continuation", 0.8), item(16, "causes", 0.9)), 1000, 100),
		answer("Sorry, I cannot produce JSON.", 1200, 10),
	)
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(3, analyzer.Continuation, 0.8)},
		Invalid:   1, Calls: 2, TokensIn: 2200, TokensOut: 110,
	})
}

func TestOpenAIUnreadableReplies(t *testing.T) {
	valid := relations(item(2, "de_escalation", 0.75))
	for _, tc := range []struct {
		name    string
		first   fakeReply
		problem string
	}{
		{"no choices", fakeReply{body: `{"id": "x", "object": "chat.completion", "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 0}}`},
			"reply has no choices"},
		{"empty content", answer("", 1000, 0), "reply is empty"},
		{"prose", answer("Event 2 is related to the New Event.", 1000, 0),
			"reply is not a JSON object: invalid character 'E' looking for beginning of value"},
		{"bare array", answer(`[`+item(2, "de_escalation", 0.75)+`]`, 1000, 0),
			"reply is not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{"content filter", completion("", "", "content_filter", 1000, 0), "reply was withheld by the content filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newChatServer(t, tc.first, answer(valid, 1200, 50))
			res, err := classify(t, srv.classifier(t))
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, res, analyzer.Result{
				Relations: []analyzer.Relation{related(2, analyzer.DeEscalation, 0.75)},
				Calls:     2, TokensIn: 2200, TokensOut: 50,
			})
			reqs := srv.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests; want 2", len(reqs))
			}
			// The repair message comes last, after the reply if there was one.
			msgs := reqs[1].Messages
			if last := msgs[len(msgs)-1].Content; !strings.Contains(last, "- "+tc.problem+"\n") {
				t.Errorf("repair message lacks %q:\n%s", tc.problem, last)
			}
		})
	}
}

func TestOpenAIAcceptsFencedJSON(t *testing.T) {
	srv := newChatServer(t, answer("```json\n"+relations(item(9, "duplicate", 1))+"\n```", 1000, 60))
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(9, analyzer.Duplicate, 1)},
		Calls:     1, TokensIn: 1000, TokensOut: 60,
	})
}

func TestOpenAIRateLimitIsTheTransports(t *testing.T) {
	srv := newChatServer(t,
		apiError(http.StatusTooManyRequests, "1", "rate limit reached"),
		answer(relations(item(1, "causes", 0.9)), 1000, 40),
	)
	start := time.Now()
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(1, analyzer.Causes, 0.9)},
		Calls:     1, TokensIn: 1000, TokensOut: 40,
	})
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d HTTP requests; want the 429 and its retry", n)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("waited %v; Retry-After asked for 1s", waited)
	}
}

func TestOpenAINoCandidatesNoCall(t *testing.T) {
	srv := newChatServer(t)
	c := srv.classifier(t)
	newEvent, _ := scene(0)
	for _, cands := range [][]analyzer.Candidate{nil, {}} {
		res, err := c.Classify(context.Background(), newEvent, cands)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, analyzer.Result{})
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests; want none", n)
	}
}

func TestOpenAIRationaleMustNameItsEventAndTheNewEvent(t *testing.T) {
	reply := relations(
		itemWith(1, "causes", 0.8, "Event 12 reports the first round of talks. It led directly to the New Event."),
		itemWith(5, "response", 0.7, "Event 5 reports the first round of talks. It led directly to the later meeting."),
		item(7, "escalation", 0.6),
	)
	srv := newChatServer(t, answer(reply, 1000, 100), answer(reply, 1400, 100))
	res, err := classify(t, srv.classifier(t))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(7, analyzer.Escalation, 0.6)},
		Invalid:   2, Calls: 2, TokensIn: 2400, TokensOut: 200,
	})
	checkRepair(t, srv.requests(),
		`relations[0]: rationale refers to "Event 12" but not to its own "Event 1"`,
		`relations[1]: rationale does not mention "the New Event"`,
	)
}

func TestOpenAIBadRequestIsAnError(t *testing.T) {
	srv := newChatServer(t, apiError(http.StatusBadRequest, "", "Invalid schema for response_format 'relations'"))
	res, err := classify(t, srv.classifier(t))
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v; want the server's 400", err)
	}
	if !strings.HasPrefix(err.Error(), "classify event new-1: ") {
		t.Errorf("err = %q; want it to name the event", err)
	}
	checkResult(t, res, analyzer.Result{Calls: 1})
	if n := len(srv.requests()); n != 1 {
		t.Errorf("%d requests; a 400 is not retried", n)
	}
}

func TestOpenAIFailedRetryIsAnError(t *testing.T) {
	srv := newChatServer(t,
		answer(relations(item(3, "continuation", 0.8), item(16, "causes", 0.9)), 1000, 100),
		apiError(http.StatusBadRequest, "", "context length exceeded"),
	)
	res, err := classify(t, srv.classifier(t))
	if err == nil {
		t.Fatal("want an error")
	}
	// The spend is still reported, without relations.
	checkResult(t, res, analyzer.Result{Calls: 2, TokensIn: 1000, TokensOut: 100})
}

func TestNewOpenAIOptions(t *testing.T) {
	srv := newChatServer(t,
		answer(relations(), 500, 5),
		answer(relations(), 500, 5),
	)
	quiet := slog.New(slog.DiscardHandler)
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.url, APIKey: "test", Logger: quiet})
	newEvent, cands := scene(2)

	custom, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "llama3.1", Temperature: 0.3, MaxTokens: 500, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if custom.Model() != "llama3.1" || custom.PromptVersion() != prompts.Version() {
		t.Errorf("Model %q, PromptVersion %q", custom.Model(), custom.PromptVersion())
	}
	// A reasoning model takes max_completion_tokens and no temperature.
	reasoning, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "gpt-5-mini", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*analyzer.OpenAI{custom, reasoning} {
		res, err := c.Classify(context.Background(), newEvent, cands)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, analyzer.Result{Calls: 1, TokensIn: 500, TokensOut: 5})
	}
	reqs := srv.requests()
	if r := reqs[0]; r.Temperature == nil || float32(*r.Temperature) != 0.3 || r.MaxTokens != 500 || r.MaxCompletionTokens != 0 {
		t.Errorf("custom request: temperature %v, max_tokens %d, max_completion_tokens %d", r.Temperature, r.MaxTokens, r.MaxCompletionTokens)
	}
	if r := reqs[1]; r.Temperature != nil || r.MaxTokens != 0 || r.MaxCompletionTokens != analyzer.DefaultMaxTokens {
		t.Errorf("reasoning request: temperature %v, max_tokens %d, max_completion_tokens %d", r.Temperature, r.MaxTokens, r.MaxCompletionTokens)
	}

	for _, tc := range []struct {
		client *openai.Client
		opts   analyzer.OpenAIOptions
	}{
		{nil, analyzer.OpenAIOptions{Model: "gpt-4o-mini"}},
		{client, analyzer.OpenAIOptions{Model: " "}},
		{client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", Temperature: 2.5}},
		{client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", Temperature: -1}},
		{client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", MaxTokens: -1}},
		{client, analyzer.OpenAIOptions{Model: "o3-mini", Temperature: 0.5}}, // fixed sampling
	} {
		if _, err := analyzer.NewOpenAI(tc.client, tc.opts); err == nil {
			t.Errorf("NewOpenAI(%v, %+v) succeeded; want an error", tc.client != nil, tc.opts)
		}
	}
}

func ExampleNewOpenAI() {
	// A stand-in for an OpenAI-compatible server, with one canned reply.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
				"content": "{\"relations\": [{\"event\": 1, \"type\": \"causes\", \"confidence\": 0.85, \"rationale\": \"Event 1 reports Iran's President signalling openness to talks. This overture enabled the negotiations of the New Event.\"}]}"}}],
			"usage": {"prompt_tokens": 1480, "completion_tokens": 52, "total_tokens": 1532}}`)
	}))
	defer srv.Close()

	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "sk-…"})
	classifier, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "gpt-4o-mini"})
	if err != nil {
		fmt.Println(err)
		return
	}
	newEvent := events.Event{
		SourceID:   "evt-2",
		OccurredAt: time.Date(2026, 4, 13, 0, 0, 0, 0, time.UTC),
		Title:      "US-Iran negotiations in Islamabad establish framework for future talks",
	}
	candidates := []analyzer.Candidate{
		{Number: 1, Similarity: 0.71, Event: events.Event{
			SourceID:   "evt-1",
			OccurredAt: time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC),
			Title:      "Iran's President signals conditional openness to US talks",
		}},
		{Number: 2, Similarity: 0.42, Event: events.Event{
			SourceID:   "evt-0",
			OccurredAt: time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC),
			Title:      "Flooding closes roads in northern Pakistan",
		}},
	}
	res, err := classifier.Classify(context.Background(), newEvent, candidates)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Relations {
		fmt.Printf("Event %d (%s) %s, confidence %.2f\n%s\n", r.Number, candidates[r.Number-1].Event.SourceID, r.Type, r.Confidence, r.Rationale)
	}
	fmt.Printf("calls %d, tokens in %d, out %d\n", res.Calls, res.TokensIn, res.TokensOut)
	// Output:
	// Event 1 (evt-1) causes, confidence 0.85
	// Event 1 reports Iran's President signalling openness to talks. This overture enabled the negotiations of the New Event.
	// calls 1, tokens in 1480, out 52
}
