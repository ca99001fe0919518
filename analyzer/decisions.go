package analyzer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// respectDecisions is what writing an event's relations owes to reviewers
// and to the event's earlier content. finish calls it in its transaction,
// before it inserts rels:
//
//   - the event's pending relations written from other content than this
//     analysis saw are marked superseded (the relations_review trigger allows
//     that only to relator's job, which this transaction says it is with
//     SET LOCAL relator.job = on);
//   - a pair (this event, a prior) that a reviewer rejected, under any model
//     and prompt version, is dropped from rels unless reask is set
//     (--reask-rejected), so a rejection is not asked again by every new
//     prompt version.
//
// Relations a reviewer decided are never changed: the new ones are written
// beside them, and the unique index keeps one relation per pair, model and
// prompt version besides superseded ones.
func respectDecisions(ctx context.Context, tx pgx.Tx, c claim, rels []written, reask bool) ([]written, error) {
	prior := make([]int64, len(rels))
	for i, r := range rels {
		prior[i] = r.priorID
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('relator.job', 'on', true)`)
	b.Queue(`UPDATE relations SET status = 'superseded'
	          WHERE new_event_id = $1 AND status = 'pending' AND event_hash IS DISTINCT FROM $2`, c.eventID, c.hash)
	var rejected map[int64]bool
	if !reask && len(rels) > 0 {
		b.Queue(`SELECT DISTINCT prior_event_id FROM relations
		          WHERE new_event_id = $1 AND prior_event_id = ANY($2) AND status = 'rejected'`, c.eventID, prior).
			Query(func(rows pgx.Rows) error {
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				rejected = make(map[int64]bool, len(ids))
				for _, id := range ids {
					rejected[id] = true
				}
				return err
			})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("respect review decisions: %w", err)
	}
	if len(rejected) == 0 {
		return rels, nil
	}
	kept := make([]written, 0, len(rels))
	for _, r := range rels {
		if !rejected[r.priorID] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}
