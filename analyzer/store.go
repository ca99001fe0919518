package analyzer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// claim is one event claimed for analysis.
type claim struct {
	eventID int64
	hash    []byte // events.content_hash when claimed
}

// claimEvents leases up to limit events that need analysis under key: those
// with a current vector of embeddingModel and no finished analysis of their
// current content, oldest first, skipping events another process holds.
// Events that failed since passStart are left for a later pass.
//
// The lease is a row of event_analyses in status 'running'. The need for
// analysis is checked twice: on the select's snapshot, and again in the
// upsert's WHERE, which PostgreSQL evaluates against the latest committed
// row, so two processes racing for one event cannot both claim it.
func claimEvents(ctx context.Context, pool *pgxpool.Pool, k key, embeddingModel string, limit int, lease time.Duration, maxAttempts int, passStart time.Time) ([]claim, error) {
	rows, err := pool.Query(ctx, fmt.Sprintf(`
		WITH todo AS (
			SELECT e.id, e.content_hash
			  FROM events e
			  JOIN embeddings v ON v.event_id = e.id AND v.model = $3 AND v.event_hash = e.content_hash
			  LEFT JOIN event_analyses a ON a.event_id = e.id AND a.model = $1 AND a.prompt_version = $2
			 WHERE a.event_id IS NULL OR %s
			 ORDER BY e.occurred_at, e.source_id
			 LIMIT $4
			   FOR NO KEY UPDATE OF e SKIP LOCKED
		)
		INSERT INTO event_analyses AS a (event_id, model, prompt_version, status, event_hash, attempts, lease_until)
		SELECT id, $1, $2, 'running', content_hash, 1, now() + $5::interval FROM todo
		ON CONFLICT (event_id, model, prompt_version) DO UPDATE SET
			status = 'running',
			attempts = CASE WHEN a.event_hash IS DISTINCT FROM excluded.event_hash THEN 1 ELSE a.attempts + 1 END,
			event_hash = excluded.event_hash,
			lease_until = excluded.lease_until, updated_at = now()
		 WHERE %s
		RETURNING event_id, event_hash`, needsAnalysis("e.content_hash"), needsAnalysis("excluded.event_hash")),
		k.model, k.promptVersion, embeddingModel, limit, lease.String(), maxAttempts, passStart)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	claims, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claim, error) {
		var c claim
		return c, row.Scan(&c.eventID, &c.hash)
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return claims, nil
}

// needsAnalysis is the condition on an event_analyses row "a" under which
// the event, whose current content hash is hash, needs (another) analysis:
// its lease expired; it was analysed, but in another version; or it is
// waiting or failed (before this pass, $7), with attempts left ($6) or new
// content.
func needsAnalysis(hash string) string {
	return fmt.Sprintf(`(
		(a.status = 'running' AND a.lease_until < now())
		OR (a.status = 'done' AND a.event_hash IS DISTINCT FROM %[1]s)
		OR (a.status = 'pending' AND (a.attempts < $6 OR a.event_hash IS DISTINCT FROM %[1]s))
		OR (a.status = 'failed' AND a.updated_at < $7 AND (a.attempts < $6 OR a.event_hash IS DISTINCT FROM %[1]s)))`, hash)
}

// key is what an analysis is done once per: the classifier's model and
// prompt version.
type key struct{ model, promptVersion string }

// written is one relation ready to store.
type written struct {
	Relation
	priorID    int64
	similarity float64
}

// finish stores an event's relations and marks its analysis done, in one
// transaction. A relation already stored for the same pair, model and prompt
// version is left as it is: reruns never touch what reviewers see.
func finish(ctx context.Context, pool *pgxpool.Pool, k key, c claim, runID int64, res Result, rels []written) (int, error) {
	var inserted int
	var run any // NULL outside a recorded run
	if runID != 0 {
		run = runID
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, r := range rels {
			batch.Queue(`
				INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale, candidate_number,
				                       similarity, model, prompt_version, run_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (new_event_id, prior_event_id, model, prompt_version) DO NOTHING`,
				c.eventID, r.priorID, string(r.Type), r.Confidence, r.Rationale, r.Number, r.similarity,
				k.model, k.promptVersion, run).Exec(func(ct pgconn.CommandTag) error {
				inserted += int(ct.RowsAffected())
				return nil
			})
		}
		batch.Queue(`
			UPDATE event_analyses SET status = 'done', event_hash = $4, relations = $5, analysed_at = now(),
			       lease_until = NULL, last_error = NULL, updated_at = now(),
			       llm_calls = $6, tokens_in = $7, tokens_out = $8, invalid = $9
			 WHERE event_id = $1 AND model = $2 AND prompt_version = $3`,
			c.eventID, k.model, k.promptVersion, c.hash, len(rels), res.Calls, res.TokensIn, res.TokensOut, res.Invalid)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("write relations of event %d: %w", c.eventID, err)
	}
	return inserted, nil
}

// fail records a failed analysis; the event is tried again by a later run
// until it has failed maxAttempts times.
func fail(ctx context.Context, pool *pgxpool.Pool, k key, c claim, cause error) error {
	_, err := pool.Exec(ctx, `
		UPDATE event_analyses SET status = 'failed', last_error = $4, lease_until = NULL, updated_at = now()
		 WHERE event_id = $1 AND model = $2 AND prompt_version = $3`,
		c.eventID, k.model, k.promptVersion, cause.Error())
	if err != nil {
		return fmt.Errorf("record failure of event %d: %w", c.eventID, err)
	}
	return nil
}

// release hands claimed events back unanalysed (on shutdown), so the next
// run need not wait for their leases to expire.
func release(ctx context.Context, pool *pgxpool.Pool, k key, claims []claim) error {
	if len(claims) == 0 {
		return nil
	}
	ids := make([]int64, len(claims))
	for i, c := range claims {
		ids[i] = c.eventID
	}
	_, err := pool.Exec(ctx, `
		UPDATE event_analyses SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_until = NULL, updated_at = now()
		 WHERE event_id = ANY($1) AND model = $2 AND prompt_version = $3 AND status = 'running'`,
		ids, k.model, k.promptVersion)
	if err != nil {
		return fmt.Errorf("release claimed events: %w", err)
	}
	return nil
}
