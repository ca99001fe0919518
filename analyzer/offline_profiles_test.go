package analyzer

import (
	"context"
	"reflect"
	"testing"
)

// The offline classifier remembers what it read of each event by the
// event's text and actors, not by its id: an event whose text changed is
// read again, and a remembered profile gives what a fresh one does.
func TestOfflineRemembersProfilesByContent(t *testing.T) {
	ctx := context.Background()
	newEvent := ev(20, 5, "Hungary's parliament lets the army help handle the migrant crisis at its borders with Serbia and Croatia.", "Hungary", "Serbia")
	border := ev(1, 0, "Croatia closes seven of eight border crossings with Serbia as thousands of migrants arrive from Hungary.", "Croatia", "Serbia")
	// The same event id, rewritten to another story.
	storm := border
	storm.Summary, storm.Actors = "A typhoon floods rice fields in the Philippines.", nil

	fresh := func(e Candidate) Result {
		t.Helper()
		r, err := NewOffline(OfflineOptions{}).Classify(ctx, newEvent, []Candidate{e})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantBorder, wantStorm := fresh(Candidate{Number: 1, Event: border, Similarity: 0.3}), fresh(Candidate{Number: 1, Event: storm, Similarity: 0.3})
	if len(wantBorder.Relations) != 1 || len(wantStorm.Relations) != 0 {
		t.Fatalf("fixture: the border event should be related (%d) and the storm not (%d)", len(wantBorder.Relations), len(wantStorm.Relations))
	}

	c := NewOffline(OfflineOptions{})
	for i, tc := range []struct {
		cand Candidate
		want Result
	}{
		{Candidate{Number: 1, Event: border, Similarity: 0.3}, wantBorder},
		{Candidate{Number: 1, Event: border, Similarity: 0.3}, wantBorder}, // remembered
		{Candidate{Number: 1, Event: storm, Similarity: 0.3}, wantStorm},   // same id, new text
	} {
		got, err := c.Classify(ctx, newEvent, []Candidate{tc.cand})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("call %d: %+v, a fresh classifier says %+v", i, got, tc.want)
		}
	}
}
