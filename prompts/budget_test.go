package prompts_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/internal/tokens"
	"github.com/relator/relator/prompts"
)

var taxonomy = []prompts.RelationType{
	{Name: "causes", Description: "the prior event caused, enabled or facilitated the New Event"},
	{Name: "continuation", Description: "the New Event continues the prior event's story"},
}

// sentence is news-like text of about n runes.
func sentence(seed, n int) string {
	words := []string{"delegations", "met", "in", "Islamabad", "on", "Tuesday", "to", "discuss", "a", "ceasefire",
		"framework", "while", "officials", "from", "Tehran", "and", "Washington", "exchanged", "proposals", "about", "sanctions"}
	var b strings.Builder
	for i := seed; b.Len() < n; i++ {
		b.WriteString(words[i%len(words)])
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String()[:n])
}

// scene is a New Event with content of contentRunes and k candidates with
// summaries of summaryRunes.
func scene(contentRunes, k, summaryRunes int) prompts.Input {
	in := prompts.Input{Types: taxonomy, NewEvent: prompts.Event{
		Date: "2026-04-13", Title: "US-Iran talks in Islamabad " + sentence(1, 200),
		Summary: sentence(2, 900), Content: sentence(3, contentRunes), Actors: []string{"United States", "Iran", "Pakistan"},
	}}
	for i := range k {
		in.Candidates = append(in.Candidates, prompts.Candidate{Number: i + 1, Event: prompts.Event{
			Date: "2026-04-01", Title: fmt.Sprintf("Candidate %d: %s", i+1, sentence(i, 150)),
			Summary: sentence(i+7, summaryRunes), Actors: []string{"Iran", "United States", "Oman", "Qatar", "Egypt", "Turkey", "Russia", "China"},
			Content: sentence(i, 5000), // never shown
		}})
	}
	return in
}

const model = "gpt-4o-mini"

// shown checks that p numbers exactly k candidates 1..k in order, says so,
// and that Fitted's count is what Tokens gives.
func checkFitted(t *testing.T, p prompts.Prompt, f prompts.Fitted, b prompts.Budget) {
	t.Helper()
	n, err := prompts.Tokens(b.Model, p)
	if err != nil {
		t.Fatal(err)
	}
	if n+b.Reserved != f.Tokens {
		t.Errorf("Fitted.Tokens %d; the prompt has %d + %d reserved", f.Tokens, n, b.Reserved)
	}
	if b.Tokens > 0 && f.Tokens > b.Tokens {
		t.Errorf("prompt of %d tokens over the budget of %d", f.Tokens, b.Tokens)
	}
	var numbers []int
	for _, m := range regexp.MustCompile(`<event number="(\d+)">`).FindAllStringSubmatch(p.User, -1) {
		n, _ := strconv.Atoi(m[1])
		numbers = append(numbers, n)
	}
	want := make([]int, f.Candidates)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(numbers, want) {
		t.Errorf("candidates shown %v; want 1..%d", numbers, f.Candidates)
	}
	header := fmt.Sprintf("%d earlier events numbered 1 to %d:", f.Candidates, f.Candidates)
	if f.Candidates == 1 {
		header = "1 earlier event numbered 1:"
	}
	if !strings.Contains(p.User, header) {
		t.Errorf("user message does not say %q", header)
	}
}

func TestFitWithinBudgetIsRender(t *testing.T) {
	in := scene(3000, 15, 1200)
	want, err := prompts.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int{0, 100_000} {
		b := prompts.Budget{Model: model, Tokens: budget, Reserved: 150}
		p, f, err := prompts.Fit(in, b)
		if err != nil {
			t.Fatal(err)
		}
		if p != want || f.Candidates != 15 || f.Shortened() {
			t.Fatalf("budget %d: Fit differs from Render (candidates %d, limits %+v)", budget, f.Candidates, f.Limits)
		}
		checkFitted(t, p, f, b)
	}
}

func TestFitShortensTheNewEventsContentFirst(t *testing.T) {
	in := scene(1_000_000, 15, 1000) // a megabyte of content
	_, full, _ := prompts.Fit(in, prompts.Budget{Model: model, Reserved: 150})
	b := prompts.Budget{Model: model, Tokens: full.Tokens - 200, Reserved: 150}
	p, f, err := prompts.Fit(in, b)
	if err != nil {
		t.Fatal(err)
	}
	checkFitted(t, p, f, b)
	d := prompts.DefaultLimits()
	if f.Candidates != 15 || f.Limits.NewContent >= d.NewContent || f.Limits.NewContent < prompts.FloorNewContent ||
		f.Limits.Summary != d.Summary || f.Limits.NewSummary != d.NewSummary || f.Limits.Title != d.Title {
		t.Fatalf("limits %+v, %d candidates; want only the New Event's content shortened", f.Limits, f.Candidates)
	}
	// As little as will do: the content lost about 200 tokens' worth.
	if f.Tokens < b.Tokens-100 {
		t.Errorf("fitted to %d tokens of %d: cut far more than needed", f.Tokens, b.Tokens)
	}
}

func TestFitKeepsTheNewEventLongest(t *testing.T) {
	in := scene(1_000_000, 15, 1000)
	b := prompts.Budget{Model: model, Tokens: 4000, Reserved: 150}
	p, f, err := prompts.Fit(in, b)
	if err != nil {
		t.Fatal(err)
	}
	checkFitted(t, p, f, b)
	if f.Candidates != 15 {
		t.Fatalf("%d candidates; shortening the fields is enough here", f.Candidates)
	}
	l := f.Limits
	if l.NewContent != prompts.FloorNewContent || l.Summary >= prompts.DefaultLimits().Summary || l.NewSummary < l.Summary {
		t.Fatalf("limits %+v: want the content at its floor, then the candidates' summaries cut before the New Event's", l)
	}
	if !strings.Contains(p.User, "Content: "+sentence(3, 100)) {
		t.Error("the New Event's content is gone")
	}
}

func TestFitDropsTheLowestRankedCandidates(t *testing.T) {
	for _, tc := range []struct{ k, budget int }{{40, 3000}, {125, 6000}} {
		k := tc.k
		in := scene(1_000_000, k, 5000)
		b := prompts.Budget{Model: model, Tokens: tc.budget, Reserved: 150}
		start := time.Now()
		p, f, err := prompts.Fit(in, b)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d candidates: %d kept, %d tokens, limits %+v, in %v", k, f.Candidates, f.Tokens, f.Limits, time.Since(start))
		checkFitted(t, p, f, b)
		if f.Candidates >= k || f.Candidates < 1 {
			t.Fatalf("%d of %d candidates kept", f.Candidates, k)
		}
		// The kept candidates are the first, best-ranked ones.
		if !strings.Contains(p.User, "Candidate 1: ") || strings.Contains(p.User, fmt.Sprintf("Candidate %d: ", f.Candidates+1)) {
			t.Fatal("the candidates kept are not the first ones")
		}
		// One more candidate at the floors would not have fitted.
		more := in
		more.Candidates = in.Candidates[:f.Candidates+1]
		more.Limits = prompts.Limits{NewTitle: prompts.FloorNewTitle, NewSummary: prompts.FloorNewSummary, NewContent: prompts.FloorNewContent,
			Title: prompts.FloorTitle, Summary: prompts.FloorSummary, Actors: prompts.FloorActors}
		mp, _ := prompts.Render(more)
		if n, _ := prompts.Tokens(model, mp); n+b.Reserved <= b.Tokens {
			t.Errorf("%d candidates fit at the floors (%d tokens), but only %d were kept", f.Candidates+1, n+b.Reserved, f.Candidates)
		}
	}
}

func TestFitWithTheSystemTokensGiven(t *testing.T) {
	sys, err := prompts.SystemTokens(model, taxonomy)
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int{0, 3000, 100_000} {
		in := scene(1_000_000, 40, 1000)
		b := prompts.Budget{Model: model, Tokens: budget, Reserved: 150}
		p1, f1, err1 := prompts.Fit(in, b)
		b.SystemTokens = sys
		p2, f2, err2 := prompts.Fit(in, b)
		if p1 != p2 || f1 != f2 || err1 != nil || err2 != nil {
			t.Fatalf("budget %d: Fit differs with SystemTokens given (%+v, %v; %+v, %v)", budget, f1, err1, f2, err2)
		}
	}
}

// A Counter, which remembers lines, fits every prompt exactly as counting
// afresh does: the same prompt, tokens, candidates and limits.
func TestFitWithACounter(t *testing.T) {
	c, err := tokens.NewCounter(model, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ content, k, summary, budget int }{
		{1000, 15, 300, 0}, {1000, 15, 300, 6000}, {1_000_000, 40, 1000, 3000}, {1_000_000, 125, 5000, 6000}, {20_000, 15, 2000, 2500},
	} {
		in := scene(tc.content, tc.k, tc.summary)
		b := prompts.Budget{Model: model, Tokens: tc.budget, Reserved: 150}
		p1, f1, err1 := prompts.Fit(in, b)
		b.Counter = c
		for pass := range 2 { // lines counted, then remembered
			p2, f2, err2 := prompts.Fit(in, b)
			if p1 != p2 || f1 != f2 || err1 != nil || err2 != nil {
				t.Fatalf("%+v, pass %d: Fit differs with a Counter (%+v, %v; %+v, %v)", tc, pass, f1, err1, f2, err2)
			}
		}
	}
}

func TestFitTooSmallABudget(t *testing.T) {
	_, _, err := prompts.Fit(scene(10_000, 5, 1000), prompts.Budget{Model: model, Tokens: 900})
	if !errors.Is(err, prompts.ErrOverBudget) {
		t.Fatalf("err %v; want ErrOverBudget", err)
	}
	if _, _, err := prompts.Fit(prompts.Input{Types: taxonomy}, prompts.Budget{Model: model, Tokens: 6000}); err == nil {
		t.Fatal("Fit must validate as Render does")
	}
}

func ExampleFit() {
	in := prompts.Input{
		NewEvent: prompts.Event{Date: "2026-04-13", Title: "Talks in Islamabad set a framework",
			Content: strings.Repeat("Delegations met again. ", 100_000)}, // 2.3 MB
		Types: []prompts.RelationType{{Name: "causes", Description: "the prior event caused the New Event"}},
	}
	for i := range 40 {
		in.Candidates = append(in.Candidates, prompts.Candidate{Number: i + 1, Event: prompts.Event{
			Date: "2026-04-01", Title: fmt.Sprintf("Earlier round %d", i+1), Summary: strings.Repeat("Officials exchanged proposals. ", 40)}})
	}
	p, fitted, err := prompts.Fit(in, prompts.Budget{Model: "gpt-4o-mini", Tokens: 3000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fitted.Tokens <= 3000, fitted.Candidates, strings.Count(p.User, "<event number="), fitted.Limits.Summary)
	// Output: true 32 32 200
}
