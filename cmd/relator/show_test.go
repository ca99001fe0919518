package main

import (
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
)

func TestAnnotateNamesTheEventsOfARationale(t *testing.T) {
	prior := events.Event{ID: 7, SourceID: "wt1", OccurredAt: time.Date(2015, 9, 4, 0, 0, 0, 0, time.UTC),
		Summary: "Hungary begins building a fence along its border with Serbia to keep migrants out."}
	newEv := events.Event{ID: 9, SourceID: "wt2", OccurredAt: time.Date(2015, 9, 14, 0, 0, 0, 0, time.UTC), Title: "Border closed"}
	rationale := "Event 3 reports the fence. Unlike Event 13, it led to the New Event; the New Event closes the border."

	got := annotate(rationale, 3, prior, newEv, 9)
	want := "Event 3 [wt1, 2015-09-04: Hungary begins building a fence along its border with…] reports the fence. " +
		"Unlike Event 13, it led to the New Event [this event]; the New Event closes the border."
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = annotate(rationale, 3, prior, newEv, 7)
	want = "Event 3 [this event] reports the fence. Unlike Event 13, it led to the New Event [wt2, 2015-09-14: Border closed]; " +
		"the New Event closes the border."
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestEventPageAsAReviewerReadsIt: quotes in a rationale print as written,
// not Go-escaped; sections with nothing to show have no heading; an edited
// relation shows the reviewer's text and the model's; superseded ones are
// counted, not shown; the page ends with a summary line.
func TestEventPageAsAReviewerReadsIt(t *testing.T) {
	day := time.Date(2015, 9, 20, 0, 0, 0, 0, time.UTC)
	ev := events.Event{ID: 1, SourceID: "wt9", OccurredAt: day, Summary: "Gunmen attack a market in Maiduguri."}
	prior := events.Event{ID: 2, SourceID: "wt8", OccurredAt: day.AddDate(0, 0, -2), Summary: "Boko Haram raids a village."}
	reviewed := day.AddDate(0, 0, 1)
	rels := []analyzer.Stored{
		{ID: 5, NewEventID: 1, PriorEventID: 2, Type: analyzer.Response, Confidence: 0.9, CandidateNumber: 1, Status: "edited",
			Rationale: `The New Event answers Event 1, where 12 were "killed".`, ModelType: analyzer.Escalation,
			ModelRationale: `Event 1 "escalates".`, ReviewedBy: "ana", ReviewedAt: &reviewed, ReviewNote: "a reply, not more of it",
			Model: "gpt-4o-mini", PromptVersion: "p1"},
		{ID: 6, NewEventID: 1, PriorEventID: 2, Type: analyzer.Escalation, Confidence: 0.8, CandidateNumber: 1, Status: "pending",
			Rationale: `Event 1 and the New Event.`, Model: "gpt-4o-mini", PromptVersion: "p2"},
		{ID: 7, NewEventID: 1, PriorEventID: 2, Type: analyzer.Causes, Confidence: 0.5, CandidateNumber: 1, Status: "superseded",
			Rationale: `Old content.`, Model: "gpt-4o-mini", PromptVersion: "p2"},
	}
	var out strings.Builder
	printEvent(&out, ev, rels, map[int64]events.Event{1: ev, 2: prior}, "")
	page := out.String()
	for _, want := range []string{`12 were "killed".`, `Event 1 [wt8, 2015-09-18: Boko Haram raids a village.] "escalates".`,
		"[edited by ana, 2015-09-21] response", "The model said escalation:", "Note: a reply, not more of it", "Related Events (2)\n",
		"[pending] escalation"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	for _, unwanted := range []string{`\"`, "Full Content", "Sources (", "Actor Responses", "Old content"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("the page has %q:\n%s", unwanted, page)
		}
	}
	lines := strings.Split(strings.TrimSpace(page), "\n")
	if last, want := lines[len(lines)-1], "show: wt9: 2 related events (1 edited, 1 pending), 1 superseded not shown"; last != want {
		t.Errorf("last line %q; want %q", last, want)
	}
}
