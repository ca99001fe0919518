package review

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/events"
)

// Entry is one change of a relation, as the database recorded it in
// relation_audit.
type Entry struct {
	ID       int64
	At       time.Time
	Reviewer string // relator.reviewer, else the database role; relator for the job
	DBUser   string // the login that made the change
	From, To string // statuses; To is "deleted" for a deletion
	Note     string
	// OldType, NewType, OldRationale and NewRationale are set where the
	// change changed them (an edit).
	OldType, NewType           string
	OldRationale, NewRationale string
}

// History returns the changes of relation id, oldest first.
func History(ctx context.Context, q events.Querier, id int64) ([]Entry, error) {
	rows, err := q.Query(ctx, `
		SELECT id, at, reviewer, db_user, from_status, to_status, coalesce(note, ''),
		       coalesce(old_type, ''), coalesce(new_type, ''), coalesce(old_rationale, ''), coalesce(new_rationale, '')
		  FROM relation_audit WHERE relation_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := row.Scan(&e.ID, &e.At, &e.Reviewer, &e.DBUser, &e.From, &e.To, &e.Note,
			&e.OldType, &e.NewType, &e.OldRationale, &e.NewRationale)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	return list, nil
}
