// Package review is the reviewer's side of relations: listing what awaits a
// decision and recording decisions. The analyzer writes relations; this
// package changes nothing of them but their review columns (status,
// reviewed_by, reviewed_at, review_note).
package review

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Statuses of a relation.
const (
	Pending  = "pending"
	Approved = "approved"
	Rejected = "rejected"
)

// Filter chooses the relations List returns.
type Filter struct {
	Status  string // pending, approved, rejected; "" for all
	EventID string // only relations of this event (source id), either side
	Limit   int    // at most this many; 0 for no limit
}

// EventRef names an event as a reviewer needs to see it.
type EventRef struct {
	SourceID   string
	OccurredAt time.Time
	Headline   string
}

// Item is one relation as a reviewer sees it.
type Item struct {
	ID         int64
	Status     string
	Type       string
	Confidence float64
	Rationale  string
	Number     int // the prior event's "Event N" in the rationale
	New, Prior EventRef
	Model      string
	ReviewedBy string
	ReviewedAt *time.Time
	Note       string
}

// List returns the relations the filter selects, oldest first, and how many
// it selects in all (before Limit).
func List(ctx context.Context, pool *pgxpool.Pool, f Filter) ([]Item, int, error) {
	if f.Status != "" && !slices.Contains([]string{Pending, Approved, Rejected}, f.Status) {
		return nil, 0, fmt.Errorf("unknown status %q: want pending, approved or rejected", f.Status)
	}
	limit := any(nil)
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := pool.Query(ctx, `
		SELECT r.id, r.status, r.type, r.confidence, r.rationale, r.candidate_number,
		       n.source_id, n.occurred_at, coalesce(n.title, n.summary),
		       p.source_id, p.occurred_at, coalesce(p.title, p.summary),
		       r.model, coalesce(r.reviewed_by, ''), r.reviewed_at, coalesce(r.review_note, ''),
		       count(*) OVER ()
		  FROM relations r
		  JOIN events n ON n.id = r.new_event_id
		  JOIN events p ON p.id = r.prior_event_id
		 WHERE ($1 = '' OR r.status = $1)
		   AND ($2 = '' OR n.source_id = $2 OR p.source_id = $2)
		 ORDER BY r.created_at, r.id
		 LIMIT $3`, f.Status, f.EventID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list relations: %w", err)
	}
	total := 0
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Item, error) {
		var it Item
		err := row.Scan(&it.ID, &it.Status, &it.Type, &it.Confidence, &it.Rationale, &it.Number,
			&it.New.SourceID, &it.New.OccurredAt, &it.New.Headline,
			&it.Prior.SourceID, &it.Prior.OccurredAt, &it.Prior.Headline,
			&it.Model, &it.ReviewedBy, &it.ReviewedAt, &it.Note, &total)
		return it, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list relations: %w", err)
	}
	if len(items) == 0 && f.Limit > 0 {
		// The window count is only there with rows.
		if err := pool.QueryRow(ctx, `
			SELECT count(*) FROM relations r JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
			 WHERE ($1 = '' OR r.status = $1) AND ($2 = '' OR n.source_id = $2 OR p.source_id = $2)`,
			f.Status, f.EventID).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count relations: %w", err)
		}
	}
	return items, total, nil
}

// ErrNotPending is returned by Decide when a relation has been decided
// already or does not exist.
var ErrNotPending = errors.New("not a pending relation")

// Decide records one decision, approved or rejected, by reviewer on the
// relations ids, with an optional note, in one transaction: if any of them
// is not a pending relation, nothing is changed.
func Decide(ctx context.Context, pool *pgxpool.Pool, ids []int64, status, reviewer, note string) error {
	if status != Approved && status != Rejected {
		return fmt.Errorf("unknown decision %q: want approved or rejected", status)
	}
	if reviewer == "" {
		return errors.New("a decision needs the reviewer's name")
	}
	if len(ids) == 0 {
		return errors.New("no relation ids given")
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE relations SET status = $2, reviewed_by = $3, reviewed_at = now(), review_note = nullif($4, '')
			 WHERE id = ANY($1) AND status = 'pending'
			RETURNING id`, ids, status, reviewer, note)
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		var missing []int64
		for _, id := range ids {
			if !slices.Contains(done, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("relation %v: %w (nothing was changed)", missing, ErrNotPending)
		}
		return nil
	})
}
