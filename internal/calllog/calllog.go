// Package calllog owns the model_calls table: one row per chat HTTP call of
// the openai classifier, with what the model answered (migration 006).
//
// The rows serve two readers. The classifier asks, before each call,
// whether an unfinished attempt of the same analysis already paid for the
// answer to the very same request (Store implements analyzer.CallLog); and
// reviewers read exactly what the model said (`relator show ID --raw`,
// `relator review show ID`).
package calllog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
)

// Store is the call log on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ analyzer.CallLog = (*Store)(nil)

// New returns the call log stored through pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Record inserts one call; the statement is its own transaction, committed
// when Record returns, so the answer outlives a crash a moment later.
func (s *Store) Record(ctx context.Context, c analyzer.ChatCall) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO model_calls (event_id, event_hash, model, prompt_version, kind, request_hash, response_id, choices,
		                         response, refusal, finish_reason, tokens_in, tokens_out, latency_ms, error, run_id)
		VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8, $9, nullif($10, ''), nullif($11, ''), $12, $13, $14,
		        nullif($15, ''), $16)`,
		c.EventID, c.EventHash, c.Model, c.PromptVersion, c.Kind, c.RequestHash, c.Answer.ResponseID, c.Answer.Choices,
		response(c), c.Answer.Refusal, c.Answer.FinishReason, c.Answer.TokensIn, c.Answer.TokensOut,
		float64(c.Latency)/float64(time.Millisecond), c.Err, nullID(c.RunID))
	if err != nil {
		return fmt.Errorf("record model call of event %d: %w", c.EventID, err)
	}
	return nil
}

// response is the content column: NULL for a failed call, else the text
// (possibly empty) the model returned.
func response(c analyzer.ChatCall) any {
	if c.Err != "" {
		return nil
	}
	return c.Answer.Content
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Answer returns the newest successful answer stored for q's analysis key
// and request hash after q.Since.
func (s *Store) Answer(ctx context.Context, q analyzer.CallQuery) (analyzer.ChatAnswer, bool, error) {
	var a analyzer.ChatAnswer
	var since any
	if !q.Since.IsZero() {
		since = q.Since
	}
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(response_id, ''), choices, coalesce(response, ''), coalesce(refusal, ''),
		       coalesce(finish_reason, ''), tokens_in, tokens_out
		  FROM model_calls
		 WHERE event_id = $1 AND model = $2 AND prompt_version = $3 AND event_hash = $4 AND request_hash = $5
		   AND error IS NULL AND ($6::timestamptz IS NULL OR created_at > $6)
		 ORDER BY created_at DESC, id DESC
		 LIMIT 1`, q.EventID, q.Model, q.PromptVersion, q.EventHash, q.RequestHash, since).
		Scan(&a.ResponseID, &a.Choices, &a.Content, &a.Refusal, &a.FinishReason, &a.TokensIn, &a.TokensOut)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("look up model answer of event %d: %w", q.EventID, err)
	}
	return a, true, nil
}
