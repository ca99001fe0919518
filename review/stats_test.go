package review_test

import (
	"context"
	"testing"
	"time"

	"github.com/relator/relator/review"
)

// TestStats: counts by status, approval rate and median time to review,
// over all and by the model's type, prompt version and model.
func TestStats(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	v1 := pending(t, pool)
	// The same pairs suggested again by prompt version v2 two hours ago.
	if _, err := pool.Exec(ctx, `
		INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale, candidate_number, model, prompt_version, created_at)
		SELECT new_event_id, prior_event_id, type, confidence, rationale, candidate_number, model, 'v2', now() - interval '2 hours'
		  FROM relations`); err != nil {
		t.Fatal(err)
	}
	var v2 []review.Item
	items, _, _ := review.List(ctx, pool, review.Filter{PromptVersion: "v2"})
	v2 = append(v2, items...)
	decide := func(it review.Item, d review.Decision) {
		t.Helper()
		if _, err := review.Decide(ctx, pool, []int64{it.ID}, d); err != nil {
			t.Fatal(err)
		}
	}
	// v1: one approved, one rejected; v2: two approved (one edited to
	// another type), one rejected.
	decide(v1[0], review.Decision{Status: review.Approved})
	decide(v1[1], review.Decision{Status: review.Rejected, Note: "no"})
	decide(v2[0], review.Decision{Status: review.Approved})
	newType := "duplicate"
	if v2[1].Type == newType {
		newType = "parallel"
	}
	decide(v2[1], review.Decision{Status: review.Edited, Type: newType})
	decide(v2[2], review.Decision{Status: review.Rejected, Note: "no"})

	rep, err := review.Stats(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	all := rep.All
	if all.Relations != 6 || all.Pending != 1 || all.Approved != 2 || all.Edited != 1 || all.Rejected != 2 || all.Decided() != 5 {
		t.Fatalf("all: %+v", all)
	}
	if r := all.ApprovalRate; r == nil || *r != 3.0/5 {
		t.Errorf("approval rate %v; want 3/5", r)
	}
	byVersion := map[string]review.Counts{}
	for _, g := range rep.ByPromptVersion {
		byVersion[g.Key] = g.Counts
	}
	if r := byVersion["v2"].ApprovalRate; r == nil || *r != 2.0/3 {
		t.Errorf("v2 approval rate %v; want 2/3", r)
	}
	if r := byVersion[v1[0].PromptVersion].ApprovalRate; r == nil || *r != 1.0/2 {
		t.Errorf("v1 approval rate %v; want 1/2", r)
	}
	if r := byVersion["v2"].EditRate; r == nil || *r != 1.0/3 {
		t.Errorf("v2 edit rate %v; want 1/3", r)
	}
	// v2 waited two hours, v1 a moment: the median of the five is v2's.
	if m := byVersion["v2"].MedianReview; m < 2*time.Hour || m > 2*time.Hour+time.Minute {
		t.Errorf("v2 median time to review %v; want 2h", m)
	}
	if m := byVersion[v1[0].PromptVersion].MedianReview; m > time.Minute {
		t.Errorf("v1 median time to review %v; want moments", m)
	}
	if m := all.MedianReview; m < 2*time.Hour {
		t.Errorf("overall median %v; want 2h, three of five decisions waited that long", m)
	}
	// By the model's type: the edited relation counts under the type the
	// model gave it.
	types := 0
	for _, g := range rep.ByType {
		types += g.Relations
		if g.Key == newType && v2[1].Type != newType && g.Edited != 0 {
			t.Errorf("the edit counted under the reviewer's type %s", newType)
		}
	}
	if types != 6 || len(rep.ByModel) != 1 || rep.ByModel[0].Relations != 6 {
		t.Errorf("by type %d relations, by model %+v", types, rep.ByModel)
	}
	if r := (review.Counts{}).ApprovalRate; r != nil {
		t.Error("an approval rate with nothing decided")
	}
}
