package review_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
// relations for three events of one story.
func analysed(t *testing.T, jsonl string) (*pgxpool.Pool, func()) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
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

func TestListApproveReject(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items, total, err := review.List(ctx, pool, review.Filter{Status: review.Pending})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 3 {
		t.Fatalf("%d of %d pending relations; want all 3 pairs of the story", len(items), total)
	}
	first, second := items[0].ID, items[1].ID
	if err := review.Decide(ctx, pool, []int64{first}, review.Approved, "ana", "same crisis"); err != nil {
		t.Fatal(err)
	}
	// One bad id fails the whole decision.
	err = review.Decide(ctx, pool, []int64{second, first}, review.Rejected, "ben", "")
	if !errors.Is(err, review.ErrNotPending) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("deciding an approved relation again: %v", err)
	}
	if err := review.Decide(ctx, pool, []int64{second}, review.Rejected, "ben", ""); err != nil {
		t.Fatal(err)
	}
	approved, _, _ := review.List(ctx, pool, review.Filter{Status: review.Approved})
	rejected, _, _ := review.List(ctx, pool, review.Filter{Status: review.Rejected})
	if len(approved) != 1 || approved[0].ReviewedBy != "ana" || approved[0].Note != "same crisis" || approved[0].ReviewedAt == nil {
		t.Fatalf("approved: %+v", approved)
	}
	if len(rejected) != 1 || rejected[0].ID != second || rejected[0].Note != "" {
		t.Fatalf("rejected: %+v", rejected)
	}
	page, total, _ := review.List(ctx, pool, review.Filter{EventID: "a", Limit: 1})
	if len(page) != 1 || total != 2 {
		t.Fatalf("relations of a, one per page: %d of %d; want 1 of 2", len(page), total)
	}
	if _, _, err := review.List(ctx, pool, review.Filter{Status: "maybe"}); err == nil {
		t.Fatal("unknown status accepted")
	}
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
	if err := review.Decide(ctx, pool, ids, review.Rejected, "ana", "checked"); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(story, "use tear gas against", "fire tear gas and water cannon at", 1)
	if _, err := events.Import(ctx, pool, strings.NewReader(changed)); err != nil {
		t.Fatal(err)
	}
	pass()
	after, _, _ := review.List(ctx, pool, review.Filter{Status: review.Rejected})
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
