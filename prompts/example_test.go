package prompts_test

import (
	"fmt"

	"github.com/relator/relator/prompts"
)

func ExampleRender() {
	p, err := prompts.Render(prompts.Input{
		NewEvent: prompts.Event{
			Date:    "2026-04-13",
			Title:   "US-Iran negotiations in Islamabad establish framework for future talks",
			Summary: "Talks in Islamabad yielded no breakthrough but set a framework for continued negotiations.",
			Actors:  []string{"United States", "Iran"},
		},
		Candidates: []prompts.Candidate{
			{Number: 1, Event: prompts.Event{
				Date:    "2026-04-08",
				Summary: "Iran's President signals conditional openness to talks with the US.",
			}},
		},
		Types: []prompts.RelationType{
			{Name: "causes", Description: "the prior event caused, enabled or facilitated the New Event"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(p.User)
	// Output:
	// The New Event:
	//
	// <new_event>
	// Date: 2026-04-13
	// Title: US-Iran negotiations in Islamabad establish framework for future talks
	// Summary: Talks in Islamabad yielded no breakthrough but set a framework for continued negotiations.
	// Actors: United States; Iran
	// </new_event>
	//
	// The candidate, 1 earlier event numbered 1:
	//
	// <event number="1">
	// Date: 2026-04-08
	// Summary: Iran's President signals conditional openness to talks with the US.
	// </event>
	//
	// Is Event 1 related to the New Event? Reply with the JSON object {"relations": [...]} as specified, listing only the related candidates, or {"relations": []} if none is related. Each rationale begins with its own "Event N" and mentions "the New Event".
}

func ExampleRepair() {
	msg, err := prompts.Repair([]string{
		`relations[0]: type "related" is not one of the listed types`,
		`relations[1]: event 9 is not a candidate number (1..3)`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(msg)
	// Output:
	// Your previous reply could not be used:
	// - relations[0]: type "related" is not one of the listed types
	// - relations[1]: event 9 is not a candidate number (1..3)
	//
	// Reply again with the complete corrected JSON object: every relation you mean to report, not only the corrected ones, in the form {"relations": [{"event": N, "type": "...", "confidence": 0.0-1.0, "rationale": "..."}]}, or {"relations": []} if no candidate is related. "event" must be one of the candidate numbers, "type" one of the listed type names, and each rationale must begin with its own "Event N" and mention "the New Event". Reply with the JSON object only, no other text.
}
