package review_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/review"
)

// TestTwoReviewersDecideAtOnce: ana's decision is in flight (her
// transaction has updated the row but not committed) when ben decides the
// same relation. Ben's update waits for ana's, then fails with a conflict
// that names her decision; the audit trail holds hers alone.
func TestTwoReviewersDecideAtOnce(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	id := pending(t, pool)[0].ID

	ana, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ana.Rollback(ctx)
	if _, err := ana.Exec(ctx, `SELECT set_config('relator.reviewer', 'ana', true)`); err != nil {
		t.Fatal(err)
	}
	if _, err := ana.Exec(ctx, `UPDATE relations SET status = 'approved' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	benErr := make(chan error, 1)
	go func() {
		_, err := review.Decide(ctx, pool, []int64{id}, review.Decision{Status: review.Rejected, Reviewer: "ben", Note: "unrelated"})
		benErr <- err
	}()
	// Ben's update is waiting for ana's row lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%UPDATE relations%'`).Scan(&waiting)
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ben's decision never waited for ana's")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := ana.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-benErr
	var rule *review.RuleError
	if !errors.Is(err, review.ErrDecided) || !errors.As(err, &rule) || rule.Code != "RV001" {
		t.Fatalf("ben's decision: %v; want a conflict", err)
	}
	if want := "already approved (by ana"; !strings.Contains(err.Error(), want) {
		t.Errorf("ben is told %q; want it to say %q", err, want)
	}
	hist, err := review.History(ctx, pool, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Reviewer != "ana" || hist[0].To != review.Approved {
		t.Fatalf("audit: %+v; want ana's approval alone", hist)
	}
	it, _ := review.Get(ctx, pool, id)
	if it.Status != review.Approved || it.ReviewedBy != "ana" || it.Note != "" {
		t.Fatalf("relation after both: %+v", it)
	}
}
