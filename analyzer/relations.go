package analyzer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/events"
)

// Stored is a relation as stored, with its review state.
type Stored struct {
	ID              int64
	NewEventID      int64
	PriorEventID    int64
	Type            RelationType // the reviewer's where edited
	Confidence      float64
	Rationale       string // the reviewer's where edited
	CandidateNumber int
	Model           string
	PromptVersion   string
	Status          string // pending, approved, edited, rejected or superseded
	CreatedAt       time.Time
	ReviewedBy      string
	ReviewedAt      *time.Time
	ReviewNote      string
	// ModelType and ModelRationale are the model's own where a reviewer
	// edited them; "" otherwise.
	ModelType      RelationType
	ModelRationale string
}

// Of lists the relations of an event from both directions — where it is the
// new event and where it is the prior candidate. Pairs a reviewer decided
// come first, and within a pair its decision before newer suggestions;
// otherwise newest new event first, surest first.
func Of(ctx context.Context, q events.Querier, eventID int64) ([]Stored, error) {
	rows, err := q.Query(ctx, `
		WITH r AS (
			SELECT r.*, CASE r.status WHEN 'approved' THEN 0 WHEN 'edited' THEN 0 WHEN 'rejected' THEN 1
			                          WHEN 'pending' THEN 2 ELSE 3 END AS rank
			  FROM relations r
			 WHERE r.new_event_id = $1 OR r.prior_event_id = $1
		)
		SELECT r.id, r.new_event_id, r.prior_event_id, r.type, r.confidence, r.rationale, r.candidate_number,
		       r.model, r.prompt_version, r.status, r.created_at, coalesce(r.reviewed_by, ''), r.reviewed_at,
		       coalesce(r.review_note, ''), coalesce(r.model_type, ''), coalesce(r.model_rationale, '')
		  FROM r
		  JOIN events n ON n.id = r.new_event_id
		  JOIN events p ON p.id = r.prior_event_id
		WINDOW pair AS (PARTITION BY r.new_event_id, r.prior_event_id)
		 ORDER BY min(r.rank) OVER pair, n.occurred_at DESC, n.source_id DESC, max(r.confidence) OVER pair DESC,
		          p.occurred_at DESC, p.source_id DESC, r.rank, r.confidence DESC, r.id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Stored, error) {
		var s Stored
		err := row.Scan(&s.ID, &s.NewEventID, &s.PriorEventID, &s.Type, &s.Confidence, &s.Rationale,
			&s.CandidateNumber, &s.Model, &s.PromptVersion, &s.Status, &s.CreatedAt, &s.ReviewedBy, &s.ReviewedAt,
			&s.ReviewNote, &s.ModelType, &s.ModelRationale)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}
	return list, nil
}

// MostRelated returns the source id of the event with the most relations
// from both directions (ties: the later event), for demos.
func MostRelated(ctx context.Context, q events.Querier) (string, error) {
	var id string
	err := q.QueryRow(ctx, `
		SELECT e.source_id FROM events e
		  JOIN (SELECT new_event_id AS id FROM relations UNION ALL SELECT prior_event_id FROM relations) r ON r.id = e.id
		 GROUP BY e.id, e.source_id, e.occurred_at
		 ORDER BY count(*) DESC, e.occurred_at DESC, e.source_id DESC
		 LIMIT 1`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errors.New("no relations written yet: run `relator run` first")
	}
	if err != nil {
		return "", fmt.Errorf("find most related event: %w", err)
	}
	return id, nil
}

// Pairs lists every written relation as (new event, prior event) source
// ids, for scoring.
func Pairs(ctx context.Context, q events.Querier) ([][2]string, error) {
	rows, err := q.Query(ctx, `
		SELECT n.source_id, p.source_id FROM relations r
		  JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id`)
	if err != nil {
		return nil, fmt.Errorf("read relation pairs: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) ([2]string, error) {
		var p [2]string
		return p, row.Scan(&p[0], &p[1])
	})
}
