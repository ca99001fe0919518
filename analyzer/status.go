package analyzer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// KeyStatus counts the analyses of one analysis key by state.
type KeyStatus struct {
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	Pending       int    `json:"pending"` // handed back, or requeued: next pass
	Claimed       int    `json:"claimed"` // leased by a live process
	Expired       int    `json:"expired"` // leased by a process that stopped renewing: taken over next
	Batched       int    `json:"batched"` // waiting for their Batch API batch (relator batches)
	Failed        int    `json:"failed"`  // retried by a later pass
	Dead          int    `json:"dead"`    // failed max-attempts times: waits for requeue or new content
	Done          int    `json:"done"`
	NotStarted    int    `json:"not_started"` // events never claimed under the key (counted for the configured key)
}

// ErrorRow is one failed or dead analysis with its last error.
type ErrorRow struct {
	EventID       string    `json:"event"`
	Model         string    `json:"model"`
	PromptVersion string    `json:"prompt_version"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	At            time.Time `json:"at"`
	Error         string    `json:"error"`
}

// WorkStatus is the state of the analysis work.
type WorkStatus struct {
	Keys   []KeyStatus `json:"keys"`
	Errors []ErrorRow  `json:"errors"` // newest first
}

// Status counts every analysis key's work and lists the newest errors (up
// to errors of them). The key of c, the configured classifier, is always
// listed, with the events it never claimed.
func Status(ctx context.Context, pool *pgxpool.Pool, c Classifier, errors int) (WorkStatus, error) {
	var ws WorkStatus
	rows, err := pool.Query(ctx, `
		SELECT model, prompt_version,
		       count(*) FILTER (WHERE status = 'pending'),
		       count(*) FILTER (WHERE status = 'running' AND lease_until >= now()),
		       count(*) FILTER (WHERE status = 'running' AND lease_until < now()),
		       count(*) FILTER (WHERE status = 'failed'),
		       count(*) FILTER (WHERE status = 'dead'),
		       count(*) FILTER (WHERE status = 'done'),
		       count(*) FILTER (WHERE status = 'batched')
		  FROM event_analyses GROUP BY model, prompt_version ORDER BY model, prompt_version`)
	if err != nil {
		return ws, fmt.Errorf("count analyses: %w", err)
	}
	ws.Keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (KeyStatus, error) {
		var k KeyStatus
		err := row.Scan(&k.Model, &k.PromptVersion, &k.Pending, &k.Claimed, &k.Expired, &k.Failed, &k.Dead, &k.Done, &k.Batched)
		return k, err
	})
	if err != nil {
		return ws, fmt.Errorf("count analyses: %w", err)
	}
	var notStarted int
	err = pool.QueryRow(ctx, `
		SELECT count(*) FROM events e
		 WHERE NOT EXISTS (SELECT 1 FROM event_analyses a WHERE a.event_id = e.id AND a.model = $1 AND a.prompt_version = $2)`,
		c.Model(), c.PromptVersion()).Scan(&notStarted)
	if err != nil {
		return ws, fmt.Errorf("count unanalysed events: %w", err)
	}
	i := slices.IndexFunc(ws.Keys, func(k KeyStatus) bool { return k.Model == c.Model() && k.PromptVersion == c.PromptVersion() })
	if i < 0 {
		ws.Keys = append(ws.Keys, KeyStatus{Model: c.Model(), PromptVersion: c.PromptVersion()})
		i = len(ws.Keys) - 1
	}
	ws.Keys[i].NotStarted = notStarted

	rows, err = pool.Query(ctx, `
		SELECT e.source_id, a.model, a.prompt_version, a.status, a.attempts, a.updated_at, coalesce(a.last_error, '')
		  FROM event_analyses a JOIN events e ON e.id = a.event_id
		 WHERE a.status IN ('failed', 'dead')
		 ORDER BY a.updated_at DESC LIMIT $1`, errors)
	if err != nil {
		return ws, fmt.Errorf("list errors: %w", err)
	}
	ws.Errors, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ErrorRow, error) {
		var r ErrorRow
		err := row.Scan(&r.EventID, &r.Model, &r.PromptVersion, &r.Status, &r.Attempts, &r.At, &r.Error)
		return r, err
	})
	if err != nil {
		return ws, fmt.Errorf("list errors: %w", err)
	}
	return ws, nil
}

// RequeueOptions says which analyses Requeue puts back.
type RequeueOptions struct {
	// Dead includes dead-lettered analyses; failed ones are always included.
	Dead bool
	// Events, when set, keeps to these events (source ids); every one of
	// them must exist.
	Events []string
}

// Requeue puts failed (and, with Dead, dead) analyses back as pending with
// their attempts reset, under every analysis key, so the next pass tries
// them again; their last error is kept until then. It returns how many it
// put back.
func Requeue(ctx context.Context, pool *pgxpool.Pool, opts RequeueOptions) (int, error) {
	statuses := []string{"failed"}
	if opts.Dead {
		statuses = append(statuses, "dead")
	}
	var n int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var events any // NULL: all
		if opts.Events != nil {
			var found []int64
			var missing []string
			rows, err := tx.Query(ctx, `
				SELECT want.source_id, e.id FROM unnest($1::text[]) AS want (source_id)
				  LEFT JOIN events e ON e.source_id = want.source_id`, opts.Events)
			if err != nil {
				return err
			}
			for rows.Next() {
				var sid string
				var id *int64
				if err := rows.Scan(&sid, &id); err != nil {
					return err
				}
				if id == nil {
					missing = append(missing, sid)
				} else {
					found = append(found, *id)
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(missing) > 0 {
				return fmt.Errorf("no such event: %s", strings.Join(missing, ", "))
			}
			events = found
		}
		tag, err := tx.Exec(ctx, `
			UPDATE event_analyses SET status = 'pending', attempts = 0, updated_at = now()
			 WHERE status = ANY($1) AND ($2::bigint[] IS NULL OR event_id = ANY($2))`, statuses, events)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("requeue: %w", err)
	}
	return n, nil
}
