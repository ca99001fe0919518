package calllog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier is what the read functions need: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Analysis names the analysis whose calls are read: an event under one
// content hash, model and prompt version.
type Analysis struct {
	EventID       int64
	EventHash     []byte
	Model         string
	PromptVersion string
}

// Call is one stored chat call.
type Call struct {
	ID           int64
	Kind         string // first or repair
	RequestHash  []byte
	ResponseID   string
	Response     string // as received; "" when failed
	Refusal      string
	FinishReason string
	TokensIn     int
	TokensOut    int
	Latency      time.Duration
	Err          string
	RunID        int64 // 0: none
	At           time.Time
}

// Of returns the calls of analysis a recorded up to until (zero: any time),
// oldest first.
func Of(ctx context.Context, q Querier, a Analysis, until time.Time) ([]Call, error) {
	var upTo any
	if !until.IsZero() {
		upTo = until
	}
	rows, err := q.Query(ctx, `
		SELECT id, kind, request_hash, coalesce(response_id, ''), coalesce(response, ''), coalesce(refusal, ''),
		       coalesce(finish_reason, ''), tokens_in, tokens_out, latency_ms, coalesce(error, ''), coalesce(run_id, 0),
		       created_at
		  FROM model_calls
		 WHERE event_id = $1 AND model = $2 AND prompt_version = $3 AND event_hash = $4
		   AND ($5::timestamptz IS NULL OR created_at <= $5)
		 ORDER BY created_at, id`, a.EventID, a.Model, a.PromptVersion, a.EventHash, upTo)
	if err != nil {
		return nil, fmt.Errorf("read model calls of event %d: %w", a.EventID, err)
	}
	calls, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Call, error) {
		var c Call
		var ms float64
		err := row.Scan(&c.ID, &c.Kind, &c.RequestHash, &c.ResponseID, &c.Response, &c.Refusal, &c.FinishReason,
			&c.TokensIn, &c.TokensOut, &ms, &c.Err, &c.RunID, &c.At)
		c.Latency = time.Duration(ms * float64(time.Millisecond))
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read model calls of event %d: %w", a.EventID, err)
	}
	return calls, nil
}

// Latest keeps the calls of the newest attempt: from the last first call
// on (its repair call, if any). Earlier attempts — failed ones, or those
// whose answers an interrupted run paid for and the next reused — are the
// history, not the answer.
func Latest(calls []Call) []Call {
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Kind == "first" && calls[i].Err == "" {
			return calls[i:]
		}
	}
	return calls
}

// Render writes calls for a reader: per call a header line — kind, time,
// finish reason, tokens, latency, run — then the raw answer exactly as
// received, or the error.
func Render(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s call · %s · ", c.Kind, c.At.UTC().Format("2006-01-02 15:04:05 MST"))
		if c.Err != "" {
			fmt.Fprintf(&b, "failed after %s", c.Latency.Round(time.Millisecond))
		} else {
			finish := c.FinishReason
			if finish == "" {
				finish = "none"
			}
			fmt.Fprintf(&b, "finish %s · %d tokens in / %d out · %s", finish, c.TokensIn, c.TokensOut, c.Latency.Round(time.Millisecond))
		}
		if c.RunID != 0 {
			fmt.Fprintf(&b, " · run %d", c.RunID)
		}
		if c.ResponseID != "" {
			fmt.Fprintf(&b, " · %s", c.ResponseID)
		}
		b.WriteByte('\n')
		switch {
		case c.Err != "":
			fmt.Fprintf(&b, "error: %s\n", c.Err)
		case c.Refusal != "":
			fmt.Fprintf(&b, "refusal: %s\n", c.Refusal)
		default:
			b.WriteString(c.Response)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
