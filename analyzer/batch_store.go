package analyzer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The batches and batch_items tables (migration 008).

// BatchRow is one recorded batch, as `relator batches` lists it.
type BatchRow struct {
	ID              int64      `json:"id"`
	ProviderBatchID string     `json:"provider_batch_id,omitempty"`
	Status          string     `json:"status"`
	Model           string     `json:"model"`
	PromptVersion   string     `json:"prompt_version"`
	Requests        int        `json:"requests"`
	Bytes           int64      `json:"bytes"`
	Completed       int        `json:"completed"`
	Failed          int        `json:"failed"`
	Analysed        int        `json:"analysed"`
	Returned        int        `json:"returned"`
	Invalid         int        `json:"invalid"`
	Relations       int        `json:"relations"`
	TokensIn        int64      `json:"tokens_in"`
	TokensOut       int64      `json:"tokens_out"`
	InputFileID     string     `json:"input_file_id,omitempty"`
	OutputFileID    string     `json:"output_file_id,omitempty"`
	ErrorFileID     string     `json:"error_file_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
	CollectedAt     *time.Time `json:"collected_at,omitempty"`
	RunID           *int64     `json:"run_id,omitempty"`
	Error           string     `json:"error,omitempty"`
}

// ListBatches returns the newest limit batches, newest first.
func ListBatches(ctx context.Context, pool *pgxpool.Pool, limit int) ([]BatchRow, error) {
	rows, err := pool.Query(ctx, `
		SELECT id, coalesce(provider_batch_id, ''), status, model, prompt_version, requests, bytes, completed, failed,
		       analysed, returned, invalid, relations, tokens_in, tokens_out, coalesce(input_file_id, ''),
		       coalesce(output_file_id, ''), coalesce(error_file_id, ''), created_at, expires_at, completed_at,
		       collected_at, run_id, coalesce(last_error, '')
		  FROM batches ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (BatchRow, error) {
		var b BatchRow
		err := row.Scan(&b.ID, &b.ProviderBatchID, &b.Status, &b.Model, &b.PromptVersion, &b.Requests, &b.Bytes,
			&b.Completed, &b.Failed, &b.Analysed, &b.Returned, &b.Invalid, &b.Relations, &b.TokensIn, &b.TokensOut,
			&b.InputFileID, &b.OutputFileID, &b.ErrorFileID, &b.CreatedAt, &b.ExpiresAt, &b.CompletedAt,
			&b.CollectedAt, &b.RunID, &b.Error)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	return list, nil
}

// createBatch records a batch about to be filled, before anything is sent.
func createBatch(ctx context.Context, pool *pgxpool.Pool, k key, runID int64) (int64, error) {
	var id int64
	err := pool.QueryRow(ctx, `INSERT INTO batches (model, prompt_version, run_id) VALUES ($1, $2, $3) RETURNING id`,
		k.model, k.promptVersion, nullID(runID)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record batch: %w", err)
	}
	return id, nil
}

// batchItem is one request of a batch.
type batchItem struct {
	c            claim
	customID     string
	line         []byte
	candidates   []int64
	similarities []float64
	shown        int // candidates the prompt showed
}

// addItems records items as requests of batch and marks their analyses
// batched, reserved for lease (the batch's window and a margin), in one
// transaction. It returns the items whose claims were still held; the
// others were taken over and are left out.
func addItems(ctx context.Context, pool *pgxpool.Pool, k key, batch int64, items []batchItem, lease time.Duration) ([]batchItem, error) {
	var kept []batchItem
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		kept = kept[:0]
		tokens := make([]pgtype.UUID, len(items))
		for i, it := range items {
			tokens[i] = it.c.token
		}
		rows, err := tx.Query(ctx, `
			UPDATE event_analyses SET status = 'batched', batch_id = $1, lease_until = now() + $2::interval, updated_at = now()
			 WHERE claim_token = ANY($3) AND status = 'running' AND model = $4 AND prompt_version = $5
			RETURNING claim_token`, batch, lease.String(), tokens, k.model, k.promptVersion)
		if err != nil {
			return err
		}
		held, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID])
		if err != nil {
			return err
		}
		ok := map[pgtype.UUID]bool{}
		for _, t := range held {
			ok[t] = true
		}
		var bytes int64
		b := &pgx.Batch{}
		for _, it := range items {
			if !ok[it.c.token] {
				continue
			}
			kept = append(kept, it)
			bytes += int64(len(it.line)) + 1
			b.Queue(`INSERT INTO batch_items (batch_id, custom_id, event_id, event_hash, claim_token, candidates, similarities, shown)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, batch, it.customID, it.c.eventID, it.c.hash, it.c.token,
				it.candidates, it.similarities, it.shown)
		}
		b.Queue(`UPDATE batches SET requests = requests + $2, bytes = bytes + $3 WHERE id = $1`, batch, len(kept), bytes)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, fmt.Errorf("record requests of batch %d: %w", batch, err)
	}
	return kept, nil
}

// recordProvider records what the provider says of a batch.
func recordProvider(ctx context.Context, pool *pgxpool.Pool, batch int64, pb ProviderBatch, lastError string) error {
	_, err := pool.Exec(ctx, `
		UPDATE batches SET provider_batch_id = coalesce(nullif($2, ''), provider_batch_id),
		       input_file_id = coalesce(nullif($3, ''), input_file_id),
		       output_file_id = nullif($4, ''), error_file_id = nullif($5, ''),
		       status = coalesce(nullif($6, ''), status), completed = $7, failed = $8,
		       expires_at = coalesce($9, expires_at), completed_at = coalesce($10, completed_at),
		       submitted_at = CASE WHEN $2 <> '' THEN coalesce(submitted_at, now()) END,
		       last_error = coalesce(nullif($11, ''), last_error)
		 WHERE id = $1`, batch, pb.ID, pb.InputFileID, pb.OutputFileID, pb.ErrorFileID, pb.Status, pb.Completed, pb.Failed,
		nullTime(pb.ExpiresAt), nullTime(pb.EndedAt), lastError)
	if err != nil {
		return fmt.Errorf("record batch %d: %w", batch, err)
	}
	return nil
}

// openBatch is a recorded batch not yet collected.
type openBatch struct {
	id         int64
	providerID string
	status     string
	createdAt  time.Time
}

// uncollected lists the batches of k not yet collected: those submitted,
// and those still preparing whose run is over (cut off by a crash).
func uncollected(ctx context.Context, pool *pgxpool.Pool, k key) ([]openBatch, error) {
	rows, err := pool.Query(ctx, `
		SELECT b.id, coalesce(b.provider_batch_id, ''), b.status, b.created_at FROM batches b
		 WHERE b.collected_at IS NULL AND b.model = $1 AND b.prompt_version = $2
		   AND (b.provider_batch_id IS NOT NULL
		        OR NOT EXISTS (SELECT FROM runs r WHERE r.id = b.run_id AND r.status = 'running'))
		 ORDER BY b.id`, k.model, k.promptVersion)
	if err != nil {
		return nil, fmt.Errorf("list open batches: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (openBatch, error) {
		var b openBatch
		return b, row.Scan(&b.id, &b.providerID, &b.status, &b.createdAt)
	})
	if err != nil {
		return nil, fmt.Errorf("list open batches: %w", err)
	}
	return list, nil
}

// items reads a batch's requests by custom id.
func items(ctx context.Context, pool *pgxpool.Pool, batch int64) (map[string]batchItem, error) {
	rows, err := pool.Query(ctx, `
		SELECT custom_id, event_id, event_hash, claim_token, candidates, similarities, shown FROM batch_items WHERE batch_id = $1`, batch)
	if err != nil {
		return nil, fmt.Errorf("read requests of batch %d: %w", batch, err)
	}
	defer rows.Close()
	out := map[string]batchItem{}
	for rows.Next() {
		var it batchItem
		if err := rows.Scan(&it.customID, &it.c.eventID, &it.c.hash, &it.c.token, &it.candidates, &it.similarities, &it.shown); err != nil {
			return nil, fmt.Errorf("read requests of batch %d: %w", batch, err)
		}
		out[it.customID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read requests of batch %d: %w", batch, err)
	}
	return out, nil
}

// takeBack turns the batched analyses of batch named by tokens into
// running claims with a short lease, so that finishAll can write them; it
// returns the tokens taken (another collector, or a pass whose reservation
// ran out, may have taken the others).
func takeBack(ctx context.Context, pool *pgxpool.Pool, k key, batch int64, tokens []pgtype.UUID, lease time.Duration) (map[pgtype.UUID]bool, error) {
	rows, err := pool.Query(ctx, `
		UPDATE event_analyses SET status = 'running', lease_until = now() + $5::interval, updated_at = now()
		 WHERE batch_id = $1 AND status = 'batched' AND model = $2 AND prompt_version = $3 AND claim_token = ANY($4)
		RETURNING claim_token`, batch, k.model, k.promptVersion, tokens, lease.String())
	if err != nil {
		return nil, fmt.Errorf("take back requests of batch %d: %w", batch, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID])
	if err != nil {
		return nil, fmt.Errorf("take back requests of batch %d: %w", batch, err)
	}
	out := map[pgtype.UUID]bool{}
	for _, t := range got {
		out[t] = true
	}
	return out, nil
}

// giveBack returns batched analyses of batch to pending — those of events
// (nil: all that are still batched). counted keeps the attempt they cost
// (a request the provider failed: after maxAttempts the analysis is dead);
// otherwise the attempt is given back (the batch expired, was cancelled
// or never sent: not the event's fault). It returns how many it returned.
func giveBack(ctx context.Context, pool *pgxpool.Pool, k key, batch int64, events []int64, counted bool, why string, maxAttempts int) (int, error) {
	tag, err := pool.Exec(ctx, `
		UPDATE event_analyses SET status = CASE WHEN $5 AND attempts >= $7 THEN 'dead' ELSE 'pending' END,
		       attempts = CASE WHEN $5 THEN attempts ELSE greatest(attempts - 1, 0) END,
		       last_error = coalesce(nullif($6, ''), last_error),
		       lease_until = NULL, claim_token = NULL, updated_at = now()
		 WHERE batch_id = $1 AND status = 'batched' AND model = $2 AND prompt_version = $3
		   AND ($4::bigint[] IS NULL OR event_id = ANY($4))`, batch, k.model, k.promptVersion, events, counted, why, maxAttempts)
	if err != nil {
		return 0, fmt.Errorf("give back requests of batch %d: %w", batch, err)
	}
	return int(tag.RowsAffected()), nil
}

// collected closes a batch: what its collection did is added to its row.
func collected(ctx context.Context, pool *pgxpool.Pool, batch int64, status string, c batchCounts, runID int64) error {
	_, err := pool.Exec(ctx, `
		UPDATE batches SET collected_at = now(), status = coalesce(nullif($2, ''), status),
		       analysed = analysed + $3, returned = returned + $4, invalid = invalid + $5, relations = relations + $6,
		       tokens_in = tokens_in + $7, tokens_out = tokens_out + $8, collected_run_id = $9
		 WHERE id = $1`, batch, status, c.analysed, c.returned, c.invalid, c.relations, c.tokensIn, c.tokensOut, nullID(runID))
	if err != nil {
		return fmt.Errorf("record collection of batch %d: %w", batch, err)
	}
	return nil
}

// batchCounts is what collecting one batch did.
type batchCounts struct {
	analysed, returned, invalid, relations int
	tokensIn, tokensOut                    int64
}
