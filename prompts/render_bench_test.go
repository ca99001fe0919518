package prompts_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/relator/relator/internal/tokens"
	"github.com/relator/relator/prompts"
)

// BenchmarkRender renders one classification call: a new event with
// content and 15 candidates, the default top K.
func BenchmarkRender(b *testing.B) {
	in := benchInput()
	for b.Loop() {
		if _, err := prompts.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit renders and counts one classification call within the
// default budget, as the OpenAI classifier does for every event: counting
// afresh, and with the Counter the classifier keeps.
func BenchmarkFit(b *testing.B) {
	in := benchInput()
	sys, err := prompts.SystemTokens("gpt-4o-mini", in.Types)
	if err != nil {
		b.Fatal(err)
	}
	budget := prompts.Budget{Model: "gpt-4o-mini", Tokens: 6000, Reserved: 150, SystemTokens: sys}
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := prompts.Fit(in, budget); err != nil {
				b.Fatal(err)
			}
		}
	})
	c, err := tokens.NewCounter(budget.Model, 0)
	if err != nil {
		b.Fatal(err)
	}
	budget.Counter = c
	b.Run("counter", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := prompts.Fit(in, budget); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchInput() prompts.Input {
	ev := func(i int) prompts.Event {
		return prompts.Event{Date: "2015-09-14", Title: fmt.Sprintf("Event title %d", i),
			Summary: strings.Repeat("Houthi militants seize a town near the border after days of clashes. ", 3),
			Actors:  []string{"Houthis", "Saudi Arabia", "Yemen"}}
	}
	in := prompts.Input{NewEvent: ev(0), Types: []prompts.RelationType{{Name: "continuation", Description: "the next step"},
		{Name: "causes", Description: "the prior caused it"}}}
	in.NewEvent.Content = strings.Repeat("Full article text. ", 200)
	for i := 1; i <= 15; i++ {
		in.Candidates = append(in.Candidates, prompts.Candidate{Number: i, Event: ev(i)})
	}
	return in
}
