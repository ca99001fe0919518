package main

import (
	"testing"
	"time"

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
