package analyzer_test

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/openaiclient"
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
