package review

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/events"
)

// Decision is what a reviewer decides about relations.
type Decision struct {
	// Status is Approved, Rejected or Edited.
	Status string
	// Reviewer is recorded as reviewed_by and in the audit trail
	// (SET LOCAL relator.reviewer); empty: the database role.
	Reviewer string
	// Note is kept with the decision. The database requires one to reject,
	// unless review_policy.reject_needs_note is off.
	Note string
	// Type and Rationale are an edit's corrections; empty keeps the
	// model's. An edit changes at least one of them.
	Type, Rationale string
}

func (d Decision) validate() error {
	switch d.Status {
	case Approved, Rejected:
		if d.Type != "" || d.Rationale != "" {
			return errors.New("a new type or rationale is an edit")
		}
	case Edited:
		if d.Type == "" && d.Rationale == "" {
			return errors.New("an edit needs a new type or rationale")
		}
		if d.Type != "" && !analyzer.RelationType(d.Type).Valid() {
			return fmt.Errorf("unknown relation type %q: want %s", d.Type, typeNames())
		}
	default:
		return fmt.Errorf("unknown decision %q: want approved, rejected or edited", d.Status)
	}
	return nil
}

// Decide records one decision on the relations ids, all or nothing, in one
// transaction: if any of them does not exist or is not pending — decided
// meanwhile by another reviewer, say — nothing is changed, and the error
// names it (ErrNotFound, or a *RuleError matching ErrDecided). It returns
// how many relations were decided.
func Decide(ctx context.Context, pool *pgxpool.Pool, ids []int64, d Decision) (int, error) {
	if err := d.validate(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, errors.New("no relation ids given")
	}
	if d.Status == Edited && len(ids) > 1 {
		return 0, errors.New("an edit is of one relation")
	}
	var n int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := sayReviewer(ctx, tx, d.Reviewer); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE relations SET status = $2, review_note = nullif($3, ''),
			       type = coalesce(nullif($4, ''), type), rationale = coalesce(nullif($5, ''), rationale)
			 WHERE id = ANY($1)
			RETURNING id`, ids, d.Status, d.Note, d.Type, d.Rationale)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		var missing []int64
		for _, id := range ids {
			if !slices.Contains(done, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("relation %v: %w", missing, ErrNotFound)
		}
		n = len(done)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w; nothing was changed", ruleError(err))
	}
	return n, nil
}

// DecideMatching records one decision, approved or rejected, on every
// pending relation f selects (f.Statuses is ignored), in one transaction.
// With expect ≥ 0 — the count a dry run (Count with Statuses pending)
// showed — a selection of another size changes nothing and returns
// ErrChanged. It returns how many relations were decided.
func DecideMatching(ctx context.Context, pool *pgxpool.Pool, f Filter, d Decision, expect int) (int, error) {
	if d.Status == Edited {
		return 0, errors.New("edits are of one relation at a time")
	}
	if err := d.validate(); err != nil {
		return 0, err
	}
	f.Statuses, f.Limit = []string{Pending}, 0
	if err := f.validate(); err != nil {
		return 0, err
	}
	where, args := f.where()
	var n int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := sayReviewer(ctx, tx, d.Reviewer); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE relations r SET status = $10, review_note = nullif($11, '')
			  FROM events n, events p
			 WHERE n.id = r.new_event_id AND p.id = r.prior_event_id AND `+where,
			append(args, d.Status, d.Note)...)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if expect >= 0 && n != expect {
			return fmt.Errorf("%d pending relations match now, not the %d expected: %w", n, expect, ErrChanged)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w; nothing was changed", ruleError(err))
	}
	return n, nil
}

// sayReviewer names the reviewer for the database's triggers, for this
// transaction only.
func sayReviewer(ctx context.Context, tx pgx.Tx, reviewer string) error {
	if reviewer == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('relator.reviewer', $1, true)`, reviewer); err != nil {
		return fmt.Errorf("name the reviewer: %w", err)
	}
	return nil
}

// Role returns the connection's database role and whether it owns the
// relations table — relator's own account, shared by the job — whose name
// then says nothing of who reviews: a command names the reviewer itself.
func Role(ctx context.Context, q events.Querier) (string, bool, error) {
	var role string
	var owner bool
	err := q.QueryRow(ctx, `SELECT current_user, pg_has_role(current_user, relowner, 'USAGE')
		FROM pg_class WHERE oid = 'relations'::regclass`).Scan(&role, &owner)
	if err != nil {
		return "", false, fmt.Errorf("check the database role: %w", err)
	}
	return role, owner, nil
}
