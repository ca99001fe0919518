package analyzer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// claim is one event claimed for analysis: the lease is a row of
// event_analyses in status 'running' carrying token, and every later update
// of that row names the token, so a process never finishes, fails or
// releases an analysis that another process has taken over since.
type claim struct {
	eventID int64
	hash    []byte // events.content_hash when claimed
	token   pgtype.UUID
	// takenOver: the event was claimed by a process whose lease ran out.
	takenOver bool
	// finishedAt is when an earlier analysis of the same key finished
	// (zero: never): model answers stored before it were used by it, those
	// after it by an attempt that did not finish, which may be reused.
	finishedAt time.Time
	order      orderKey
}

// scope narrows the work a pass does: a time range of new events (zero
// bounds are open) and, for re-analysis, a time before which finished
// analyses count as not done.
type scope struct {
	from, to        time.Time
	reanalyseBefore time.Time
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// orderKey is an event's place in prior order; the zero value is no place.
type orderKey struct {
	at time.Time
	id string
}

func (o orderKey) set() bool { return o.id != "" }

// params are o as two query parameters, NULL when unset.
func (o orderKey) params() (any, any) {
	if !o.set() {
		return nil, nil
	}
	return o.at, o.id
}

// claimRequest is what claimEvents claims.
type claimRequest struct {
	k              key
	embeddingModel string
	limit          int
	lease          time.Duration
	maxAttempts    int
	passStart      time.Time
	sc             scope
	runID          int64
	// after is a keyset cursor: only events after it, so that a pass's
	// claims do not read its finished events again and again.
	after orderKey
	// mark is the embedding watermark: only events before it.
	mark orderKey
}

// watermark is the first event in prior order without a current vector of
// model (the zero orderKey when every event has one): an event at or after
// it must not be analysed yet, since its priors may lack their vectors —
// say in another process's uncommitted embedding batch.
func watermark(ctx context.Context, pool *pgxpool.Pool, model string) (orderKey, error) {
	var o orderKey
	err := pool.QueryRow(ctx, `
		SELECT e.occurred_at, e.source_id
		  FROM events e
		 WHERE NOT EXISTS (SELECT FROM embeddings v WHERE v.event_id = e.id AND v.model = $1 AND v.event_hash = e.content_hash)
		 ORDER BY e.occurred_at, e.source_id
		 LIMIT 1`, model).Scan(&o.at, &o.id)
	if errors.Is(err, pgx.ErrNoRows) {
		return orderKey{}, nil
	}
	if err != nil {
		return o, fmt.Errorf("embedding watermark: %w", err)
	}
	return o, nil
}

// claimQuery is claimEvents' statement and its arguments.
func claimQuery(r claimRequest) (string, []any) {
	afterAt, afterID := r.after.params()
	markAt, markID := r.mark.params()
	return fmt.Sprintf(`
		WITH todo AS (
			SELECT e.id, e.content_hash, e.occurred_at, e.source_id
			  FROM events e
			  LEFT JOIN LATERAL (SELECT * FROM event_analyses a
			                      WHERE a.event_id = e.id AND (a.model, a.prompt_version) IS NOT DISTINCT FROM ($1, $2)
			                     OFFSET 0) a ON true
			 WHERE EXISTS (SELECT FROM embeddings v WHERE v.event_id = e.id AND v.model = $3 AND v.event_hash = e.content_hash OFFSET 0)
			   AND (a.event_id IS NULL OR %s)
			   AND ($12::timestamptz IS NULL OR (e.occurred_at, e.source_id) > ($12, $13::text))
			   AND ($14::timestamptz IS NULL OR (e.occurred_at, e.source_id) < ($14, $15::text))
			   AND ($8::timestamptz IS NULL OR e.occurred_at >= $8)
			   AND ($9::timestamptz IS NULL OR e.occurred_at < $9)
			 ORDER BY e.occurred_at, e.source_id
			 LIMIT $4
			   FOR NO KEY UPDATE OF e SKIP LOCKED
		), claimed AS (
			INSERT INTO event_analyses AS a (event_id, model, prompt_version, status, event_hash, attempts, lease_until,
			                                 claim_token, run_id)
			SELECT id, $1, $2, 'running', content_hash, 1, now() + $5::interval, gen_random_uuid(), $11 FROM todo
			ON CONFLICT (event_id, model, prompt_version) DO UPDATE SET
				status = 'running',
				attempts = CASE WHEN a.event_hash IS DISTINCT FROM excluded.event_hash OR a.status = 'done' THEN 1
				                ELSE a.attempts + 1 END,
				event_hash = excluded.event_hash,
				lease_until = excluded.lease_until, claim_token = excluded.claim_token, run_id = excluded.run_id,
				taken_over = (a.status IN ('running', 'batched')), batch_id = NULL, updated_at = now()
			 WHERE %s
			RETURNING event_id, event_hash, claim_token, taken_over, analysed_at
		)
		SELECT c.event_id, c.event_hash, c.claim_token, c.taken_over, t.occurred_at, t.source_id, c.analysed_at
		  FROM claimed c JOIN todo t ON t.id = c.event_id
		 ORDER BY t.occurred_at, t.source_id`,
			needsAnalysis(needs{"e.content_hash", "$6", "$7", "$10"}), needsAnalysis(needs{"excluded.event_hash", "$6", "$7", "$10"})), []any{r.k.model, r.k.promptVersion, r.embeddingModel, r.limit, r.lease.String(), r.maxAttempts, r.passStart,
			nullTime(r.sc.from), nullTime(r.sc.to), nullTime(r.sc.reanalyseBefore), nullID(r.runID), afterAt, afterID, markAt, markID}
}

// claimEvents leases up to r.limit events that need analysis under r.k,
// oldest first, skipping events another process holds. Events that failed
// since the pass began are left for a later pass. Only events before the
// embedding watermark r.mark are claimed (see watermark), and after the
// cursor r.after; the claims come back in prior order.
//
// The plan is fixed by the query's shape, not left to estimates: events
// are read in prior order from the cursor through events_order_idx, and
// each one's vector and analysis are looked up by primary key (OFFSET 0
// keeps the planner from flattening those lookups into joins; the analysis
// is matched on model and prompt version with IS NOT DISTINCT FROM, which
// no index serves, so its lookup goes by event id through the primary key
// and never scans event_analyses_state_idx over a whole key), so a claim
// reads about as many events as it claims, however large the history. As
// joins, the vector's two-column match (event and content hash) was
// estimated at one row for the whole table, and with event_analyses'
// statistics stale from a fresh load the planner chose a hash join over
// all embeddings and a nested loop over all analyses: 7-9 s per claim at
// 20,000 events (relator bench --offline --events 20000).
//
// The need for analysis is checked twice: on the select's snapshot, and
// again in the upsert's WHERE, which PostgreSQL evaluates against the latest
// committed row, so two processes racing for one event cannot both claim it.
func claimEvents(ctx context.Context, pool *pgxpool.Pool, r claimRequest) ([]claim, error) {
	sql, args := claimQuery(r)
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	claims, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claim, error) {
		var c claim
		var finished pgtype.Timestamptz
		err := row.Scan(&c.eventID, &c.hash, &c.token, &c.takenOver, &c.order.at, &c.order.id, &finished)
		c.finishedAt = finished.Time
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return claims, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// needs names the parameters of the condition needsAnalysis writes.
type needs struct {
	hash        string // the event's current content hash
	maxAttempts string // int
	passStart   string // timestamptz: failures since then wait for a later pass
	reanalyse   string // timestamptz or NULL: analyses finished before it count as not done
}

// needsAnalysis is the condition on an event_analyses row "a" under which
// the event needs (another) analysis: its lease (or its batch's
// reservation) expired; it was analysed,
// but of other content, or before the re-analysis time; it is waiting, or
// failed before this pass, with attempts left or new content; or it is dead
// and has new content.
func needsAnalysis(n needs) string {
	return fmt.Sprintf(`(
		(a.status IN ('running', 'batched') AND a.lease_until < now())
		OR (a.status = 'done' AND (a.event_hash IS DISTINCT FROM %[1]s OR a.analysed_at < %[4]s::timestamptz))
		OR (a.status = 'pending' AND (a.attempts < %[2]s OR a.event_hash IS DISTINCT FROM %[1]s))
		OR (a.status = 'failed' AND a.updated_at < %[3]s AND (a.attempts < %[2]s OR a.event_hash IS DISTINCT FROM %[1]s))
		OR (a.status = 'dead' AND a.event_hash IS DISTINCT FROM %[1]s))`, n.hash, n.maxAttempts, n.passStart, n.reanalyse)
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

// errLost is a claim whose lease another process has taken over: its work
// is not written, and its row is not touched.
var errLost = errors.New("claim lost to another process")

// finishing is one event's analysis to write.
type finishing struct {
	c          claim
	res        Result
	rels       []written
	candidates []int64
}

// finishSQL stores an event's relations and marks its analysis done, with
// the candidates it saw — if the claim is still this process's: the update
// names the claim's token, and the relations are written only when it
// matched. What it owes reviewers (see decisions.go): a pair a reviewer
// rejected is not written again ($19: unless asked), the event's pending
// relations from other content are superseded, and a relation already
// stored for the same pair, model and prompt version is left as it is. The
// statement returns whether the claim was held and the types inserted.
const finishSQL = `
	WITH held AS (
		UPDATE event_analyses SET status = 'done', event_hash = $5, relations = $6, analysed_at = now(),
		       lease_until = NULL, claim_token = NULL, last_error = NULL, updated_at = now(),
		       llm_calls = $7, tokens_in = $8, tokens_out = $9, invalid = $10, candidates = $11, run_id = $12,
		       reused_calls = $20
		 WHERE event_id = $1 AND model = $2 AND prompt_version = $3 AND claim_token = $4 AND status = 'running'
		RETURNING event_id
	), inserted AS (
		INSERT INTO relations (new_event_id, prior_event_id, type, confidence, rationale, candidate_number,
		                       similarity, model, prompt_version, run_id, event_hash)
		SELECT $1, p, t, c, w, n, s, $2, $3, $12, $5
		  FROM unnest($13::bigint[], $14::text[], $15::float8[], $16::text[], $17::int[], $18::float8[]) AS r (p, t, c, w, n, s)
		 WHERE EXISTS (SELECT FROM held) AND ` + notRejectedSQL + `
		ON CONFLICT (new_event_id, prior_event_id, model, prompt_version) WHERE status <> 'superseded' DO NOTHING
		RETURNING type
	)
	SELECT EXISTS (SELECT FROM held), coalesce((SELECT array_agg(type) FROM inserted), '{}')`

func (f finishing) args(k key, runID int64, reask bool) []any {
	n := len(f.rels)
	prior, types, conf := make([]int64, n), make([]string, n), make([]float64, n)
	why, num, sim := make([]string, n), make([]int32, n), make([]float64, n)
	for i, r := range f.rels {
		prior[i], types[i], conf[i], why[i], num[i], sim[i] =
			r.priorID, string(r.Type), r.Confidence, r.Rationale, int32(r.Number), r.similarity
	}
	return []any{f.c.eventID, k.model, k.promptVersion, f.c.token, f.c.hash, n,
		f.res.Calls, f.res.TokensIn, f.res.TokensOut, f.res.Invalid, f.candidates, nullID(runID),
		prior, types, conf, why, num, sim, reask, f.res.Reused}
}

// finish writes one event's analysis in a transaction of its own and
// returns the types of the relations inserted, or errLost.
func finish(ctx context.Context, pool *pgxpool.Pool, k key, c claim, runID int64, res Result, rels []written, candidates []int64,
	reaskRejected bool) ([]RelationType, error) {
	out, err := finishAll(ctx, pool, k, runID, reaskRejected, []finishing{{c, res, rels, candidates}})
	if err != nil {
		return nil, err
	}
	return out[0].types, out[0].err
}

// finished is the outcome of one finishing.
type finished struct {
	types []RelationType
	err   error // errLost, or nil
}

// finishAll writes several events' analyses in one transaction and one
// round trip: the writes of a busy pass share a commit. An error is the
// whole transaction's; nothing of it is written.
func finishAll(ctx context.Context, pool *pgxpool.Pool, k key, runID int64, reaskRejected bool, fs []finishing) ([]finished, error) {
	out := make([]finished, len(fs))
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(jobSQL)
		for i, f := range fs {
			// A statement of its own, before the insert: within one
			// statement the insert might meet the stale relation first.
			b.Queue(supersedeSQL, f.c.eventID, k.model, k.promptVersion, f.c.token, f.c.hash)
			b.Queue(finishSQL, f.args(k, runID, reaskRejected)...).QueryRow(func(row pgx.Row) error {
				var held bool
				var types []string
				if err := row.Scan(&held, &types); err != nil {
					return err
				}
				if !held {
					out[i].err = errLost
				}
				for _, t := range types {
					out[i].types = append(out[i].types, RelationType(t))
				}
				return nil
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		if len(fs) == 1 {
			return nil, fmt.Errorf("write relations of event %d: %w", fs[0].c.eventID, err)
		}
		return nil, fmt.Errorf("write relations of %d events: %w", len(fs), err)
	}
	return out, nil
}

// fail records a failed analysis: tried again by a later pass, or, once it
// has failed maxAttempts times, dead until requeued or changed. It reports
// whether the analysis is now dead.
func fail(ctx context.Context, pool *pgxpool.Pool, k key, c claim, cause error, maxAttempts int, res Result, candidates []int64) (bool, error) {
	var status string
	err := pool.QueryRow(ctx, `
		UPDATE event_analyses SET status = CASE WHEN attempts >= $6 THEN 'dead' ELSE 'failed' END,
		       last_error = $5, lease_until = NULL, claim_token = NULL, updated_at = now(),
		       llm_calls = llm_calls + $7, tokens_in = tokens_in + $8, tokens_out = tokens_out + $9, candidates = $10,
		       reused_calls = reused_calls + $11
		 WHERE event_id = $1 AND model = $2 AND prompt_version = $3 AND claim_token = $4 AND status = 'running'
		RETURNING status`,
		c.eventID, k.model, k.promptVersion, c.token, cause.Error(), maxAttempts,
		res.Calls, res.TokensIn, res.TokensOut, candidates, res.Reused).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, errLost
	}
	if err != nil {
		return false, fmt.Errorf("record failure of event %d: %w", c.eventID, err)
	}
	return status == "dead", nil
}

// release hands claimed events back unanalysed (on shutdown), so the next
// run need not wait for their leases to expire; the attempt is given back,
// since the event was not at fault.
func release(ctx context.Context, pool *pgxpool.Pool, claims []claim) error {
	if len(claims) == 0 {
		return nil
	}
	tokens := make([]pgtype.UUID, len(claims))
	for i, c := range claims {
		tokens[i] = c.token
	}
	_, err := pool.Exec(ctx, `
		UPDATE event_analyses SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_until = NULL,
		       claim_token = NULL, updated_at = now()
		 WHERE claim_token = ANY($1) AND status = 'running'`, tokens)
	if err != nil {
		return fmt.Errorf("release claimed events: %w", err)
	}
	return nil
}

// renew extends the leases of the claims named by tokens and returns the
// tokens still held; the others were taken over after their lease expired.
func renew(ctx context.Context, pool *pgxpool.Pool, tokens []pgtype.UUID, lease time.Duration) (map[pgtype.UUID]bool, error) {
	rows, err := pool.Query(ctx, `
		UPDATE event_analyses SET lease_until = now() + $2::interval
		 WHERE claim_token = ANY($1) AND status = 'running'
		RETURNING claim_token`, tokens, lease.String())
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID])
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	out := make(map[pgtype.UUID]bool, len(held))
	for _, t := range held {
		out[t] = true
	}
	return out, nil
}
