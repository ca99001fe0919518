package analyzer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Remaining is the work of a pass that this process could not claim when it
// last looked: events another process holds, and events waiting for their
// own or an earlier event's vector.
type Remaining struct {
	// Events is every event of the pass's scope still to be analysed under
	// the key, except those that failed during this pass or are dead.
	Events int
	// Leased of them are claimed by another process until LeaseEnds at the
	// latest; if that process died they are taken over then.
	Leased    int
	LeaseEnds time.Time
}

// RemainingWork counts the work of the pass that opts describe (its scope,
// PassStart and MaxAttempts) not yet done under c's model and prompt version.
func RemainingWork(ctx context.Context, pool *pgxpool.Pool, c Classifier, opts Options) (Remaining, error) {
	opts = opts.withDefaults()
	return remaining(ctx, pool, key{c.Model(), c.PromptVersion()}, opts.MaxAttempts, opts.PassStart, opts.scope(opts.PassStart))
}

func remaining(ctx context.Context, pool *pgxpool.Pool, k key, maxAttempts int, passStart time.Time, sc scope) (Remaining, error) {
	var r Remaining
	var ends *time.Time
	err := pool.QueryRow(ctx, fmt.Sprintf(`
		SELECT count(*),
		       count(*) FILTER (WHERE a.status = 'running' AND a.lease_until >= now()),
		       max(a.lease_until) FILTER (WHERE a.status = 'running' AND a.lease_until >= now())
		  FROM events e
		  LEFT JOIN event_analyses a ON a.event_id = e.id AND a.model = $1 AND a.prompt_version = $2
		 WHERE (a.event_id IS NULL OR a.status = 'running' OR %s)
		   AND ($6::timestamptz IS NULL OR e.occurred_at >= $6)
		   AND ($7::timestamptz IS NULL OR e.occurred_at < $7)`,
		needsAnalysis(needs{"e.content_hash", "$3", "$4", "$5"})),
		k.model, k.promptVersion, maxAttempts, passStart, nullTime(sc.reanalyseBefore),
		nullTime(sc.from), nullTime(sc.to)).Scan(&r.Events, &r.Leased, &ends)
	if err != nil {
		return r, fmt.Errorf("count remaining work: %w", err)
	}
	if ends != nil {
		r.LeaseEnds = *ends
	}
	return r, nil
}
