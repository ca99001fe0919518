// Package runs records every pass of relator in the runs table: what it
// used, what it did, and — through a heartbeat — whether its process is
// still alive, so that a run whose process died is closed as 'aborted' by
// the next process instead of staying 'running' forever.
package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
)

// Statuses of a run.
const (
	Running = "running"
	Done    = "done"    // finished with every claimed event analysed
	Partial = "partial" // finished, but some events failed (see failed, dead)
	Failed  = "failed"  // ended early by an error
	Aborted = "aborted" // interrupted, or its process died
	Budget  = "budget"  // stopped cleanly at its token or cost budget; the rest is pending
)

// HeartbeatEvery is how often a live run says so; a run silent for
// StaleAfter is taken for dead.
const (
	HeartbeatEvery = 5 * time.Second
	StaleAfter     = 6 * HeartbeatEvery
)

// Info says what a run is and what it uses.
type Info struct {
	Command       string // run, backfill, schedule, eval, …
	Embedder      string
	Classifier    string
	PromptVersion string
	// Params records how the run was asked, e.g. a backfill's range;
	// a resumed backfill finds its first run by them.
	Params map[string]any
}

// Totals is what a run did, recorded when it ends.
type Totals struct {
	Embedded  int
	Refreshed int
	// EmbedRequests and EmbedTokens are the embeddings requests made and
	// the input tokens the server billed for them.
	EmbedRequests int
	EmbedTokens   int
	// Cost is what the run's chat and embedding tokens cost in US dollars
	// at the price table's prices; nil when a model it used has no price.
	Cost *float64
	// Featureless counts events recorded without a vector, since their text
	// has no features: skipped, never analysed by a model nor a candidate.
	Featureless int
	analyzer.Stats
}

// Start closes the runs whose process died (see Reap), records the start
// of a run and returns its id, which every relation the run writes carries.
func Start(ctx context.Context, pool *pgxpool.Pool, info Info) (int64, error) {
	if _, err := Reap(ctx, pool); err != nil {
		return 0, err
	}
	params, err := json.Marshal(info.Params)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	if info.Params == nil {
		params = []byte("{}")
	}
	host, _ := os.Hostname()
	var id int64
	err = pool.QueryRow(ctx, `
		INSERT INTO runs (command, embedder, classifier, prompt_version, params, host, pid)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		info.Command, info.Embedder, info.Classifier, info.PromptVersion, params, host, os.Getpid()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return id, nil
}

// Reap closes as aborted every running run whose heartbeat is older than
// StaleAfter: its process died (SIGKILL, a lost node, an OOM kill) without
// saying how it ended. It returns how many it closed.
func Reap(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	tag, err := pool.Exec(ctx, `
		UPDATE runs SET status = 'aborted', finished_at = heartbeat_at,
		       error = 'process stopped sending heartbeats at ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC (killed?)'
		 WHERE status = 'running' AND heartbeat_at < now() - $1::interval`, StaleAfter.String())
	if err != nil {
		return 0, fmt.Errorf("close dead runs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Heartbeat marks run id alive every HeartbeatEvery until ctx ends, and
// closes the runs of dead processes as it goes.
func Heartbeat(ctx context.Context, pool *pgxpool.Pool, id int64) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed beat is retried on the next tick; a database down for
		// longer than StaleAfter makes the run look dead, which is what it
		// is to everyone else.
		_, _ = pool.Exec(ctx, `UPDATE runs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, id)
		_, _ = Reap(ctx, pool)
	}
}

// Finish records how run id ended, with status one of Done, Partial,
// Failed or Aborted and cause the error that ended it, if any.
func Finish(ctx context.Context, pool *pgxpool.Pool, id int64, status string, t Totals, cause error) error {
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	_, err := pool.Exec(ctx, `
		UPDATE runs SET status = $2, finished_at = now(), heartbeat_at = now(), embedded = $3, refreshed = $4,
		       analysed = $5, failed = $6, dead = $7, lost = $8, relations = $9,
		       llm_calls = $10, tokens_in = $11, tokens_out = $12, invalid = $13, error = nullif($14, ''),
		       embedding_requests = $15, embedding_tokens = $16, cost_usd = $17,
		       reused_calls = $18
		 WHERE id = $1`,
		id, status, t.Embedded, t.Refreshed, t.Analysed, t.Failed, t.Dead, t.Lost, t.Written,
		t.Calls, t.TokensIn, t.TokensOut, t.Invalid, msg, t.EmbedRequests, t.EmbedTokens, t.Cost, t.Reused)
	if err != nil {
		return fmt.Errorf("record run end: %w", err)
	}
	return nil
}

// Run is one row of the runs table.
type Run struct {
	ID            int64          `json:"id"`
	Command       string         `json:"command"`
	Status        string         `json:"status"`
	StartedAt     time.Time      `json:"started_at"`
	FinishedAt    *time.Time     `json:"finished_at"`
	Seconds       float64        `json:"seconds"` // so far, for a running one
	Host          string         `json:"host"`
	PID           int            `json:"pid"`
	Embedder      string         `json:"embedder"`
	Classifier    string         `json:"classifier"`
	PromptVersion string         `json:"prompt_version"`
	Params        map[string]any `json:"params"`
	Embedded      int            `json:"embedded"`
	Refreshed     int            `json:"refreshed"`
	Analysed      int            `json:"analysed"`
	Failed        int            `json:"failed"`
	Dead          int            `json:"dead"`
	Lost          int            `json:"lost"`
	Relations     int            `json:"relations"`
	Calls         int            `json:"llm_calls"`
	Reused        int            `json:"reused_calls"` // answers taken from the call log instead of calls
	TokensIn      int64          `json:"tokens_in"`
	TokensOut     int64          `json:"tokens_out"`
	Invalid       int            `json:"invalid"`
	// EmbeddingRequests and EmbeddingTokens are the embeddings requests
	// and their billed input tokens; Calls, TokensIn and TokensOut the chat
	// calls and their tokens.
	EmbeddingRequests int   `json:"embedding_requests"`
	EmbeddingTokens   int64 `json:"embedding_tokens"`
	// CostUSD is what the tokens cost at the price table's list prices
	// when the run ended; null while it runs and when a model it used had
	// no price.
	CostUSD *float64 `json:"cost_usd"`
	Error   string   `json:"error"`
}

// List returns the newest limit runs, newest first, after closing the runs
// of dead processes so that none shows as running when it is not.
func List(ctx context.Context, pool *pgxpool.Pool, limit int) ([]Run, error) {
	if _, err := Reap(ctx, pool); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `
		SELECT id, command, status, started_at, finished_at,
		       extract(epoch FROM coalesce(finished_at, now()) - started_at)::float8,
		       coalesce(host, ''), coalesce(pid, 0), embedder, classifier, prompt_version, params,
		       embedded, refreshed, analysed, failed, dead, lost, relations, llm_calls, tokens_in, tokens_out,
		       invalid, embedding_requests, embedding_tokens, cost_usd::float8, coalesce(error, ''), reused_calls
		  FROM runs ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		var r Run
		err := row.Scan(&r.ID, &r.Command, &r.Status, &r.StartedAt, &r.FinishedAt, &r.Seconds, &r.Host, &r.PID,
			&r.Embedder, &r.Classifier, &r.PromptVersion, &r.Params, &r.Embedded, &r.Refreshed, &r.Analysed,
			&r.Failed, &r.Dead, &r.Lost, &r.Relations, &r.Calls, &r.TokensIn, &r.TokensOut, &r.Invalid,
			&r.EmbeddingRequests, &r.EmbeddingTokens, &r.CostUSD, &r.Error, &r.Reused)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return list, nil
}

// Latest returns the newest run of command under classifier and prompt
// version whose params contain match (a backfill's range), if any: how a
// restarted backfill finds the one it resumes.
func Latest(ctx context.Context, pool *pgxpool.Pool, command, classifier, promptVersion string, match map[string]any) (Run, bool, error) {
	b, err := json.Marshal(match)
	if err != nil {
		return Run{}, false, fmt.Errorf("find run: %w", err)
	}
	var r Run
	err = pool.QueryRow(ctx, `
		SELECT id, status, started_at, params FROM runs
		 WHERE command = $1 AND classifier = $2 AND prompt_version = $3 AND params @> $4
		 ORDER BY id DESC LIMIT 1`, command, classifier, promptVersion, b).Scan(&r.ID, &r.Status, &r.StartedAt, &r.Params)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("find run: %w", err)
	}
	return r, true, nil
}
