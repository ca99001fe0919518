package analyzer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// RunInfo says what a run is and what it uses.
type RunInfo struct {
	Command       string // run, backfill, eval, …
	Embedder      string
	Classifier    string
	PromptVersion string
}

// RunTotals is what a run did, recorded when it ends.
type RunTotals struct {
	Embedded int
	Stats
}

// StartRun records the start of a run and returns its id, which every
// relation the run writes carries.
func StartRun(ctx context.Context, pool *pgxpool.Pool, info RunInfo) (int64, error) {
	var id int64
	err := pool.QueryRow(ctx, `
		INSERT INTO runs (command, embedder, classifier, prompt_version) VALUES ($1, $2, $3, $4) RETURNING id`,
		info.Command, info.Embedder, info.Classifier, info.PromptVersion).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return id, nil
}

// FinishRun records how run id ended; cause is nil for a run that finished.
func FinishRun(ctx context.Context, pool *pgxpool.Pool, id int64, t RunTotals, cause error) error {
	status, msg := "done", ""
	if cause != nil {
		status, msg = "failed", cause.Error()
	}
	_, err := pool.Exec(ctx, `
		UPDATE runs SET status = $2, finished_at = now(), embedded = $3, analysed = $4, failed = $5, relations = $6,
		       llm_calls = $7, tokens_in = $8, tokens_out = $9, invalid = $10, error = nullif($11, '')
		 WHERE id = $1`,
		id, status, t.Embedded, t.Analysed, t.Failed, t.Written, t.Calls, t.TokensIn, t.TokensOut, t.Invalid, msg)
	if err != nil {
		return fmt.Errorf("record run end: %w", err)
	}
	return nil
}
