package review

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
)

// Filter chooses relations. Its zero value chooses every relation; each set
// field narrows the choice.
type Filter struct {
	// Statuses keeps relations in any of these statuses; none: all.
	Statuses []string
	// EventID keeps relations of this event (source id), from either side.
	EventID string
	// Types keeps relations of these types (the reviewer's where edited).
	Types []string
	// MinConfidence and MaxConfidence bound the model's confidence,
	// inclusively; a MaxConfidence of 0 means no upper bound.
	MinConfidence, MaxConfidence float64
	// Model and PromptVersion keep what one model or prompt version wrote,
	// to review a new prompt version on its own.
	Model, PromptVersion string
	// From and To keep relations whose new (later) event occurred in
	// [From, To); zero bounds are open.
	From, To time.Time
	// Limit caps how many List returns; 0: no limit.
	Limit int
}

func (f Filter) validate() error {
	var errs []error
	for _, s := range f.Statuses {
		if err := validStatus(s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range f.Types {
		if !analyzer.RelationType(t).Valid() {
			errs = append(errs, fmt.Errorf("unknown relation type %q: want %s", t, typeNames()))
		}
	}
	if f.MinConfidence < 0 || f.MinConfidence > 1 || f.MaxConfidence < 0 || f.MaxConfidence > 1 {
		errs = append(errs, errors.New("confidence bounds must lie in [0, 1]"))
	} else if f.MaxConfidence > 0 && f.MinConfidence > f.MaxConfidence {
		errs = append(errs, errors.New("the minimum confidence is above the maximum"))
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		errs = append(errs, errors.New("the date range is empty"))
	}
	return errors.Join(errs...)
}

func typeNames() string {
	var names []string
	for _, t := range analyzer.Taxonomy() {
		names = append(names, string(t.Type))
	}
	return strings.Join(names, ", ")
}

// where is the filter's condition on relations r, new events n and prior
// events p, with its arguments as $1…$9.
func (f Filter) where() (string, []any) {
	maxConf := f.MaxConfidence
	if maxConf == 0 {
		maxConf = 1
	}
	return `($1::text[] IS NULL OR r.status = ANY($1))
		   AND ($2 = '' OR n.source_id = $2 OR p.source_id = $2)
		   AND ($3::text[] IS NULL OR r.type = ANY($3))
		   -- as real, the column's type, so that 0.82 selects a stored 0.82
		   AND r.confidence >= $4::real AND r.confidence <= $5::real
		   AND ($6 = '' OR r.model = $6)
		   AND ($7 = '' OR r.prompt_version = $7)
		   AND ($8::timestamptz IS NULL OR n.occurred_at >= $8)
		   AND ($9::timestamptz IS NULL OR n.occurred_at < $9)`,
		[]any{nilIfEmpty(f.Statuses), f.EventID, nilIfEmpty(f.Types), f.MinConfidence, maxConf,
			f.Model, f.PromptVersion, nullTime(f.From), nullTime(f.To)}
}

func nilIfEmpty(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

const selectItem = `
	SELECT r.id, r.status, r.type, r.confidence, r.rationale, r.candidate_number,
	       n.id, n.source_id, n.occurred_at, coalesce(n.title, n.summary),
	       p.id, p.source_id, p.occurred_at, coalesce(p.title, p.summary),
	       r.model, r.prompt_version, r.created_at, coalesce(r.reviewed_by, ''), r.reviewed_at, coalesce(r.review_note, ''),
	       coalesce(r.model_type, ''), coalesce(r.model_rationale, '')
	  FROM relations r
	  JOIN events n ON n.id = r.new_event_id
	  JOIN events p ON p.id = r.prior_event_id`

func scanItem(row pgx.CollectableRow) (Item, error) {
	var it Item
	err := row.Scan(&it.ID, &it.Status, &it.Type, &it.Confidence, &it.Rationale, &it.Number,
		&it.New.ID, &it.New.SourceID, &it.New.OccurredAt, &it.New.Headline,
		&it.Prior.ID, &it.Prior.SourceID, &it.Prior.OccurredAt, &it.Prior.Headline,
		&it.Model, &it.PromptVersion, &it.CreatedAt, &it.ReviewedBy, &it.ReviewedAt, &it.Note,
		&it.ModelType, &it.ModelRationale)
	it.New.OccurredAt, it.Prior.OccurredAt = it.New.OccurredAt.UTC(), it.Prior.OccurredAt.UTC()
	return it, err
}

// List returns the relations the filter selects, highest confidence first
// (as the review_queue view), and how many it selects in all (before Limit).
func List(ctx context.Context, q events.Querier, f Filter) ([]Item, int, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	where, args := f.where()
	limit := any(nil)
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := q.Query(ctx, selectItem+` WHERE `+where+` ORDER BY r.confidence DESC, r.id LIMIT $10`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list relations: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, 0, fmt.Errorf("list relations: %w", err)
	}
	total := len(items)
	if f.Limit > 0 && total == f.Limit {
		if total, err = count(ctx, q, f); err != nil {
			return nil, 0, err
		}
	}
	return items, total, nil
}

// Count returns how many relations the filter selects.
func Count(ctx context.Context, q events.Querier, f Filter) (int, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	return count(ctx, q, f)
}

func count(ctx context.Context, q events.Querier, f Filter) (int, error) {
	where, args := f.where()
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM relations r
		JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
		WHERE `+where, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count relations: %w", err)
	}
	return n, nil
}

// Get returns one relation.
func Get(ctx context.Context, q events.Querier, id int64) (Item, error) {
	rows, err := q.Query(ctx, selectItem+` WHERE r.id = $1`, id)
	if err != nil {
		return Item{}, fmt.Errorf("read relation: %w", err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanItem)
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, fmt.Errorf("relation %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("read relation: %w", err)
	}
	return it, nil
}
