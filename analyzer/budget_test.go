package analyzer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/prompts"
)

// TestOpenAIFitsThePromptToItsBudget: a megabyte of content and 100
// candidates with long summaries go out within the budget; the model is
// shown the first candidates, numbered as retrieved, and a reply naming a
// candidate it was not shown is judged invalid by exactly that numbering.
func TestOpenAIFitsThePromptToItsBudget(t *testing.T) {
	const budget = 4000
	srv := newChatServer(t,
		answer(relations(item(1, "continuation", 0.8), item(100, "causes", 0.7)), 4000, 50),
		answer(relations(item(1, "continuation", 0.8)), 4200, 30),
	)
	quiet := slog.New(slog.DiscardHandler)
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.url, APIKey: "test", Logger: quiet})
	c, err := analyzer.NewOpenAI(client, analyzer.OpenAIOptions{Model: "gpt-4o-mini", PromptBudget: budget, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	newEvent, cands := scene(100)
	newEvent.Content = strings.Repeat("Officials said the talks generated momentum. ", 23_000) // ~1 MB
	for i := range cands {
		cands[i].Event.Summary = strings.Repeat(fmt.Sprintf("What prior event %d reported at length. ", i+1), 40)
	}
	start := time.Now()
	res, err := c.Classify(context.Background(), newEvent, cands)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("classified in %v", time.Since(start))
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests; want the call and its repair", len(reqs))
	}
	p := prompts.Prompt{System: reqs[0].Messages[0].Content, User: reqs[0].Messages[1].Content}
	n, err := prompts.Tokens("gpt-4o-mini", p)
	if err != nil {
		t.Fatal(err)
	}
	if n > budget {
		t.Fatalf("the prompt sent has %d tokens; budget %d", n, budget)
	}
	shown := regexp.MustCompile(`<event number="(\d+)">`).FindAllStringSubmatch(p.User, -1)
	k := len(shown)
	if k == 0 || k >= 100 || shown[k-1][1] != fmt.Sprint(k) {
		t.Fatalf("%d candidates shown, the last numbered %s; want the first k of 100, numbered 1..k", k, shown[k-1][1])
	}
	checkRepair(t, reqs, fmt.Sprintf("relations[1]: event 100 is not a candidate number (1..%d)", k))
	checkResult(t, res, analyzer.Result{
		Relations: []analyzer.Relation{related(1, analyzer.Continuation, 0.8)},
		Calls:     2, TokensIn: 8200, TokensOut: 80,
	})
}

// BenchmarkSamplePrompts classifies the sample's events, each against its
// 15 nearest priors (offline vectors), through the chat path and a fake
// server that answers at once; ns/op is relator's own cost of a call
// (fitting, tokenizing, the HTTP round trip), and the metrics are the
// tokens of the prompts as sent, counted with gpt-4o-mini's tokenizer:
//
//	go test -run '^$' -bench SamplePrompts ./analyzer
func BenchmarkSamplePrompts(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.New(b)
	f, err := os.Open(devSet)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := events.Import(ctx, pool, f); err != nil {
		b.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		b.Fatal(err)
	}
	refs, err := events.InOrder(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	type scene struct {
		ev    events.Event
		cands []analyzer.Candidate
	}
	var scenes []scene
	for _, r := range refs {
		ns, err := embeddings.Neighbors(ctx, pool, e.Model(), r.ID, embeddings.SearchOptions{K: 15})
		if err != nil {
			b.Fatal(err)
		}
		ids := []int64{r.ID}
		for _, n := range ns {
			ids = append(ids, n.EventID)
		}
		evs, err := events.ByIDs(ctx, pool, ids)
		if err != nil {
			b.Fatal(err)
		}
		s := scene{ev: evs[r.ID]}
		for i, n := range ns {
			s.cands = append(s.cands, analyzer.Candidate{Number: i + 1, Event: evs[n.EventID], Similarity: n.Similarity})
		}
		if len(s.cands) > 0 {
			scenes = append(scenes, s)
		}
	}

	var mu sync.Mutex
	var sent []prompts.Prompt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openai.ChatCompletionRequest
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		sent = append(sent, prompts.Prompt{System: req.Messages[0].Content, User: req.Messages[1].Content})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{\"relations\":[]}"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer srv.Close()
	quiet := slog.New(slog.DiscardHandler)
	c, err := analyzer.NewOpenAI(openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet}),
		analyzer.OpenAIOptions{Model: "gpt-4o-mini", Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	// Every event once, for the prompts' sizes; then the timed calls.
	for _, s := range scenes {
		if _, err := c.Classify(ctx, s.ev, s.cands); err != nil {
			b.Fatal(err)
		}
	}
	all := slices.Clone(sent)
	for i := 0; b.Loop(); i++ {
		s := scenes[i%len(scenes)]
		if _, err := c.Classify(ctx, s.ev, s.cands); err != nil {
			b.Fatal(err)
		}
	}
	var counts []int
	for _, p := range all {
		n, err := prompts.Tokens("gpt-4o-mini", p)
		if err != nil {
			b.Fatal(err)
		}
		counts = append(counts, n)
	}
	slices.Sort(counts)
	sum := 0
	for _, n := range counts {
		sum += n
	}
	b.ReportMetric(float64(sum)/float64(len(counts)), "prompt-tokens-mean")
	b.ReportMetric(float64(counts[len(counts)*95/100]), "prompt-tokens-p95")
	b.ReportMetric(float64(counts[len(counts)-1]), "prompt-tokens-max")
}
