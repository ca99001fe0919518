package review_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/review"
)

const story = `{"id":"a","occurred_at":"2015-09-04","summary":"Hungary begins building a fence on its border with Serbia to stop migrants.","actors":["Hungary","Serbia"]}
{"id":"b","occurred_at":"2015-09-14","summary":"Hungary closes its border with Serbia to migrants and declares a state of emergency.","actors":["Hungary","Serbia"]}
{"id":"c","occurred_at":"2015-09-16","summary":"Hungarian police use tear gas against migrants at the closed Serbian border crossing.","actors":["Hungary","Serbia"]}
`

// analysed returns a database in which the offline pipeline has written
// relations for three events of one story, and a function doing another
// pass.
func analysed(t *testing.T, jsonl string) (*pgxpool.Pool, func()) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128})
	c := analyzer.NewOffline(analyzer.OfflineOptions{})
	pass := func() {
		t.Helper()
		if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(jsonl)); err != nil {
		t.Fatal(err)
	}
	pass()
	return pool, pass
}

func pending(t *testing.T, pool *pgxpool.Pool) []review.Item {
	t.Helper()
	items, _, err := review.List(context.Background(), pool, review.Filter{Statuses: []string{review.Pending}})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestListApproveReject(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items, total, err := review.List(ctx, pool, review.Filter{Statuses: []string{review.Pending}})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 3 {
		t.Fatalf("%d of %d pending relations; want all 3 pairs of the story", len(items), total)
	}
	for i := 1; i < len(items); i++ {
		if items[i].Confidence > items[i-1].Confidence {
			t.Fatalf("not highest confidence first: %v after %v", items[i].Confidence, items[i-1].Confidence)
		}
	}
	first, second := items[0].ID, items[1].ID
	if _, err := review.Decide(ctx, pool, []int64{first}, review.Decision{Status: review.Approved, Reviewer: "ana", Note: "same crisis"}); err != nil {
		t.Fatal(err)
	}
	// One decided id fails the whole decision.
	_, err = review.Decide(ctx, pool, []int64{second, first}, review.Decision{Status: review.Rejected, Reviewer: "ben", Note: "no"})
	if !errors.Is(err, review.ErrDecided) || !strings.Contains(err.Error(), "nothing was changed") ||
		!strings.Contains(err.Error(), "already approved (by ana") {
		t.Fatalf("deciding an approved relation again: %v", err)
	}
	if _, err := review.Decide(ctx, pool, []int64{second, 99999}, review.Decision{Status: review.Approved}); !errors.Is(err, review.ErrNotFound) {
		t.Fatalf("deciding a missing relation: %v", err)
	}
	if _, err := review.Decide(ctx, pool, []int64{second}, review.Decision{Status: review.Rejected, Reviewer: "ben", Note: "other story"}); err != nil {
		t.Fatal(err)
	}
	approved, _, _ := review.List(ctx, pool, review.Filter{Statuses: []string{review.Approved}})
	rejected, _, _ := review.List(ctx, pool, review.Filter{Statuses: []string{review.Rejected}})
	if len(approved) != 1 || approved[0].ReviewedBy != "ana" || approved[0].Note != "same crisis" || approved[0].ReviewedAt == nil {
		t.Fatalf("approved: %+v", approved)
	}
	if len(rejected) != 1 || rejected[0].ID != second || rejected[0].Note != "other story" || rejected[0].ReviewedBy != "ben" {
		t.Fatalf("rejected: %+v", rejected)
	}
	page, total, _ := review.List(ctx, pool, review.Filter{EventID: "a", Limit: 1})
	if len(page) != 1 || total != 2 {
		t.Fatalf("relations of a, one per page: %d of %d; want 1 of 2", len(page), total)
	}
	for _, bad := range []review.Filter{{Statuses: []string{"maybe"}}, {Types: []string{"kinship"}},
		{MinConfidence: 0.9, MaxConfidence: 0.5}, {MinConfidence: 2}} {
		if _, _, err := review.List(ctx, pool, bad); err == nil {
			t.Errorf("filter %+v accepted", bad)
		}
	}
}

// TestFilters checks each filter against the relations' own fields.
func TestFilters(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	all := pending(t, pool)
	count := func(f review.Filter) int {
		t.Helper()
		n, err := review.Count(ctx, pool, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	mid := all[1].Confidence
	atLeast, atMost := 0, 0
	for _, it := range all {
		if it.Confidence >= mid {
			atLeast++
		}
		if it.Confidence <= mid {
			atMost++
		}
	}
	if got := count(review.Filter{MinConfidence: mid}); got != atLeast {
		t.Errorf("min confidence %v: %d; want %d", mid, got, atLeast)
	}
	if got := count(review.Filter{MaxConfidence: mid}); got != atMost {
		t.Errorf("max confidence %v: %d; want %d", mid, got, atMost)
	}
	if got := count(review.Filter{Types: []string{all[0].Type}}); got < 1 {
		t.Errorf("type %s: %d", all[0].Type, got)
	}
	if got := count(review.Filter{Model: "gpt-4o"}); got != 0 {
		t.Errorf("another model: %d", got)
	}
	if got := count(review.Filter{PromptVersion: analyzer.OfflinePromptVersion, Model: analyzer.OfflineModel}); got != len(all) {
		t.Errorf("the offline prompt version: %d of %d", got, len(all))
	}
	c := all[0].New.OccurredAt // the new event's date decides
	if got := count(review.Filter{From: c, To: c.AddDate(0, 0, 1)}); got != countNew(all, c) {
		t.Errorf("new events of %s: %d; want %d", c.Format("2006-01-02"), got, countNew(all, c))
	}
}

func countNew(items []review.Item, day time.Time) int {
	n := 0
	for _, it := range items {
		if day.Equal(it.New.OccurredAt) {
			n++
		}
	}
	return n
}

// TestReanalysisNeverTouchesReviewedRelations changes an event so that it is
// analysed again: the reviewed relations of its pairs stay as reviewed.
func TestReanalysisNeverTouchesReviewedRelations(t *testing.T) {
	ctx := context.Background()
	pool, pass := analysed(t, story)
	items, _, _ := review.List(ctx, pool, review.Filter{EventID: "c"})
	var ids []int64
	for _, it := range items {
		if it.New.SourceID == "c" {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		t.Fatal("c has no relations to review")
	}
	if _, err := review.Decide(ctx, pool, ids, review.Decision{Status: review.Rejected, Reviewer: "ana", Note: "checked"}); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(story, "use tear gas against", "fire tear gas and water cannon at", 1)
	if _, err := events.Import(ctx, pool, strings.NewReader(changed)); err != nil {
		t.Fatal(err)
	}
	pass()
	after, _, _ := review.List(ctx, pool, review.Filter{Statuses: []string{review.Rejected}})
	if len(after) != len(ids) {
		t.Fatalf("%d rejected after re-analysis; want the %d rejected before", len(after), len(ids))
	}
	var reanalysed int
	pool.QueryRow(ctx, `SELECT count(*) FROM event_analyses a JOIN events e ON e.id = a.event_id
		WHERE e.source_id = 'c' AND a.status = 'done' AND a.analysed_at > (SELECT max(reviewed_at) FROM relations)`).Scan(&reanalysed)
	if reanalysed != 1 {
		t.Fatal("the changed event was not analysed again")
	}
}
