package embeddings

import (
	"bytes"
	"context"
	"crypto/sha256"

	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/relator/relator/events"
)

// StepOptions configures Embed.
type StepOptions struct {
	// BatchSize is how many events are embedded and written per
	// transaction: large enough to fill an embeddings request, small enough
	// that a crash loses little work and row locks are held briefly.
	// Default 256.
	BatchSize int
	// Before, when set, embeds only events that occurred before it: a
	// backfill embeds its range and every prior of it, nothing later.
	Before time.Time
	// DeferIndex builds the model's HNSW index after the embedding instead
	// of before it (dropping an existing one first): a bulk load into a
	// built graph inserts every vector into it one by one, while one build
	// at the end is much faster. Searches meanwhile are exact, hence slow:
	// for backfills into a quiet database.
	DeferIndex bool
	// Index are the build parameters of the model's HNSW index.
	Index IndexOptions
	// Stop, when closed, ends the step between batches.
	Stop <-chan struct{}
	// VacuumAt is how many vectors a step must write for it to end with
	// VACUUM (ANALYZE) instead of ANALYZE alone: a bulk load leaves the
	// visibility map of the new rows unset until autovacuum comes round, so
	// the prior count of every search (an index-only scan over up to
	// SearchOptions.ExactBelow entries) reads the heap row by row; it was
	// an eighth of the database's work in analysis after a load of 5,000
	// events (perf, relator bench --concurrency 64). Default 1000; a
	// nightly increment below it leaves the table to autovacuum.
	VacuumAt int
	// Committed, when set, is told how many vectors each committed batch
	// wrote (progress bars, metrics).
	Committed func(n int)
	// Logger receives a line per batch. Default slog.Default().
	Logger *slog.Logger
}

// DefaultVacuumAt is the default StepOptions.VacuumAt.
const DefaultVacuumAt = 1000

// StepStats counts what Embed did.
type StepStats struct {
	Embedded  int // events whose vector was computed and written
	Refreshed int // events that changed in a way their embedded text did not: no new vector needed
	// Featureless counts the events of Embedded whose text has no features
	// (the embedder gave an all-zero vector, which has no direction and so
	// no cosine similarity): their vector is stored, so they are no longer
	// pending and do not hold back the analysis watermark, but they are
	// never searched nor a candidate (see Neighbors), so their analysis
	// asks no model.
	Featureless int
	Batches     int
	// Requests and Tokens are what the embedder's model server answered
	// and billed (a Metered embedder's usage; 0 for the offline one),
	// batches that failed or were rolled back included: they were paid.
	Requests int
	Tokens   int
}

// Embed embeds every event whose current text has no vector of e's model —
// new, changed, or the model switched — in prior order, in batches, each
// embedded and written in one transaction. Events are claimed with FOR NO
// KEY UPDATE SKIP LOCKED, so several processes embedding at once share the
// work; a crash rolls its batch back and the next run picks it up. Counts
// are of committed batches only.
func Embed(ctx context.Context, pool *pgxpool.Pool, e Embedder, opts StepOptions) (StepStats, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.VacuumAt <= 0 {
		opts.VacuumAt = DefaultVacuumAt
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var stats StepStats
	indexed := false
	if d := e.Dimensions(); d > 0 && !opts.DeferIndex {
		if err := EnsureIndex(ctx, pool, e.Model(), d, opts.Index); err != nil {
			return stats, err
		}
		indexed = true
	}
	if opts.DeferIndex && e.Dimensions() > 0 {
		if err := DropIndex(ctx, pool, e.Model(), e.Dimensions()); err != nil {
			return stats, err
		}
	}
	lastDims := e.Dimensions()
	var after cursor
	for {
		var n, dims int
		var batch StepStats
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var err error
			n, dims, err = embedBatch(ctx, tx, e, opts.BatchSize, opts.Before, &after, &batch)
			return err
		})
		stats.Requests += batch.Requests
		stats.Tokens += batch.Tokens
		if err != nil {
			return stats, err
		}
		stats.Embedded += batch.Embedded
		stats.Refreshed += batch.Refreshed
		stats.Featureless += batch.Featureless
		if opts.Committed != nil && batch.Embedded > 0 {
			opts.Committed(batch.Embedded)
		}
		if dims > 0 {
			lastDims = dims
		}
		stopped := false
		select {
		case <-opts.Stop:
			stopped = true
		default:
		}
		if n == 0 || stopped {
			if opts.DeferIndex && lastDims > 0 {
				if err := BuildIndex(ctx, pool, e.Model(), lastDims, opts.Index); err != nil {
					return stats, err
				}
			}
			if stats.Embedded > 0 {
				// The search plan rests on the table's statistics: refresh
				// them now rather than when autovacuum comes round, so the
				// analysis that follows uses the HNSW index; after a bulk
				// load, set the visibility map too (VacuumAt). Index
				// cleanup is left to autovacuum: an HNSW index's is long,
				// and new rows leave nothing to clean.
				sql, what := `ANALYZE embeddings`, "analyze"
				if stats.Embedded >= opts.VacuumAt {
					sql, what = `VACUUM (ANALYZE, INDEX_CLEANUP OFF) embeddings`, "vacuum"
				}
				if _, err := pool.Exec(ctx, sql); err != nil {
					return stats, fmt.Errorf("%s embeddings: %w", what, err)
				}
			}
			return stats, nil
		}
		stats.Batches++
		opts.Logger.Debug("embedded batch", "model", e.Model(), "events", n, "total", stats.Embedded)
		if !indexed && dims > 0 && !opts.DeferIndex {
			if err := EnsureIndex(ctx, pool, e.Model(), dims, opts.Index); err != nil {
				return stats, err
			}
			indexed = true
		}
	}
}

// cursor is an event's place in prior order.
type cursor struct {
	at  time.Time
	id  string
	set bool
}

type pendingEvent struct {
	id       int64
	sourceID string
	at       time.Time
	doc      Document
	hash     []byte // events.content_hash
	oldText  []byte // text_hash of the stored vector, if any
}

// embedBatch claims, embeds and writes one batch; it returns how many events
// it handled and the vectors' dimension (0 when no vector was computed).
//
// after is a keyset cursor, the order key of the previous batch's last
// event, so that a step does not read its finished events again for every
// batch; it is moved to this batch's last event.
func embedBatch(ctx context.Context, tx pgx.Tx, e Embedder, limit int, before time.Time, after *cursor, stats *StepStats) (int, int, error) {
	var until any // NULL: no bound
	if !before.IsZero() {
		until = before
	}
	var afterAt, afterID any
	if after.set {
		afterAt, afterID = after.at, after.id
	}
	rows, err := tx.Query(ctx, `
		SELECT e.id, e.source_id, e.occurred_at, coalesce(e.title, ''), coalesce(e.summary, ''),
		       coalesce(e.content, ''), e.actors, e.content_hash, v.text_hash
		  FROM events e
		  LEFT JOIN embeddings v ON v.event_id = e.id AND v.model = $1
		 WHERE (v.event_id IS NULL OR v.event_hash <> e.content_hash)
		   AND ($3::timestamptz IS NULL OR e.occurred_at < $3)
		   AND ($4::timestamptz IS NULL OR (e.occurred_at, e.source_id) > ($4, $5::text))
		 ORDER BY e.occurred_at, e.source_id
		 LIMIT $2
		   FOR NO KEY UPDATE OF e SKIP LOCKED`, e.Model(), limit, until, afterAt, afterID)
	if err != nil {
		return 0, 0, fmt.Errorf("select pending embeddings: %w", err)
	}
	pending, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pendingEvent, error) {
		var p pendingEvent
		var actors []events.Actor
		err := row.Scan(&p.id, &p.sourceID, &p.at, &p.doc.Title, &p.doc.Summary, &p.doc.Content, &actors, &p.hash, &p.oldText)
		for _, a := range actors {
			p.doc.Actors = append(p.doc.Actors, a.Name)
		}
		return p, err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("select pending embeddings: %w", err)
	}
	if len(pending) == 0 {
		return 0, 0, nil
	}
	last := pending[len(pending)-1]
	*after = cursor{at: last.at, id: last.sourceID, set: true}
	// The select's snapshot predates the lock: another process may have
	// embedded an event and committed between the two. Look again.
	selected := len(pending)
	pending, err = dropCurrent(ctx, tx, e.Model(), pending)
	if err != nil {
		return 0, 0, err
	}
	if len(pending) == 0 {
		return selected, 0, nil // all done by another process meanwhile: go on after them
	}

	var texts []string
	var todo []int // indexes into pending that need a vector
	textHashes := make([][]byte, len(pending))
	var keep struct { // events whose text is unchanged: the vector stays
		ids    []int64
		hashes [][]byte
	}
	for i, p := range pending {
		text := Text(p.doc)
		sum := sha256.Sum256([]byte(text))
		textHashes[i] = sum[:]
		if p.oldText != nil && bytes.Equal(p.oldText, sum[:]) {
			// Same text (say, only a source link changed): keep the vector.
			keep.ids, keep.hashes = append(keep.ids, p.id), append(keep.hashes, p.hash)
			continue
		}
		texts = append(texts, text)
		todo = append(todo, i)
	}

	dims := 0
	var vecs struct { // the vectors to write, as columns
		ids                     []int64
		vectors                 []pgvector.Vector
		textHashes, eventHashes [][]byte
		at                      []time.Time
		sourceIDs               []string
	}
	if len(texts) > 0 {
		vectors, err := embed(ctx, e, texts, stats)
		if err != nil {
			return 0, 0, fmt.Errorf("embed %d events: %w", len(texts), err)
		}
		if len(vectors) != len(texts) {
			return 0, 0, fmt.Errorf("embedder %s returned %d vectors for %d texts", e.Model(), len(vectors), len(texts))
		}
		dims = len(vectors[0])
		for j, i := range todo {
			p := pending[i]
			if len(vectors[j]) != dims || dims == 0 {
				return 0, 0, fmt.Errorf("embedder %s returned vectors of %d and %d dimensions", e.Model(), dims, len(vectors[j]))
			}
			if isZero(vectors[j]) {
				// Stored as it is: never searched, never a candidate
				// (see Neighbors), and no longer pending.
				stats.Featureless++
			}
			vecs.ids = append(vecs.ids, p.id)
			vecs.vectors = append(vecs.vectors, pgvector.NewVector(vectors[j]))
			vecs.textHashes = append(vecs.textHashes, textHashes[i])
			vecs.eventHashes = append(vecs.eventHashes, p.hash)
			vecs.at = append(vecs.at, p.at)
			vecs.sourceIDs = append(vecs.sourceIDs, p.sourceID)
		}
	}
	// One statement per kind of write, whatever the batch's size.
	batch := &pgx.Batch{}
	if len(keep.ids) > 0 {
		batch.Queue(`
			UPDATE embeddings v SET event_hash = k.hash
			  FROM unnest($1::bigint[], $2::bytea[]) AS k (id, hash)
			 WHERE v.event_id = k.id AND v.model = $3`, keep.ids, keep.hashes, e.Model())
	}
	if len(vecs.ids) > 0 {
		batch.Queue(`
			INSERT INTO embeddings (event_id, model, dimensions, embedding, text_hash, event_hash, occurred_at, source_id)
			SELECT id, $7, $8, vec, th, eh, at, sid
			  FROM unnest($1::bigint[], $2::vector[], $3::bytea[], $4::bytea[], $5::timestamptz[], $6::text[])
			       AS r (id, vec, th, eh, at, sid)
			ON CONFLICT (event_id, model) DO UPDATE SET
				dimensions = excluded.dimensions, embedding = excluded.embedding,
				text_hash = excluded.text_hash, event_hash = excluded.event_hash, created_at = now()`,
			vecs.ids, vecs.vectors, vecs.textHashes, vecs.eventHashes, vecs.at, vecs.sourceIDs, e.Model(), dims)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return 0, 0, fmt.Errorf("write embeddings: %w", err)
	}
	stats.Embedded += len(vecs.ids)
	stats.Refreshed += len(keep.ids)
	return len(pending), dims, nil
}

// isZero tells a vector without a direction: a text with no features.
func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// embed has e embed texts and adds the usage of a Metered e to stats.
func embed(ctx context.Context, e Embedder, texts []string, stats *StepStats) ([][]float32, error) {
	m, ok := e.(Metered)
	if !ok {
		return e.Embed(ctx, texts)
	}
	vectors, usage, err := m.EmbedMetered(ctx, texts)
	stats.Requests += usage.Requests
	stats.Tokens += usage.Tokens
	return vectors, err
}

// Pending counts events whose current text has no vector of model: all of
// them, or those that occurred before before when it is set.
func Pending(ctx context.Context, pool *pgxpool.Pool, model string, before time.Time) (int, error) {
	var until any
	if !before.IsZero() {
		until = before
	}
	var n int
	err := pool.QueryRow(ctx, `
		SELECT count(*) FROM events e
		  LEFT JOIN embeddings v ON v.event_id = e.id AND v.model = $1
		 WHERE (v.event_id IS NULL OR v.event_hash <> e.content_hash)
		   AND ($2::timestamptz IS NULL OR e.occurred_at < $2)`, model, until).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count pending embeddings: %w", err)
	}
	return n, nil
}

// dropCurrent removes from pending the events that now have a current vector.
func dropCurrent(ctx context.Context, tx pgx.Tx, model string, pending []pendingEvent) ([]pendingEvent, error) {
	ids := make([]int64, len(pending))
	for i, p := range pending {
		ids[i] = p.id
	}
	rows, err := tx.Query(ctx, `
		SELECT v.event_id FROM embeddings v JOIN events e ON e.id = v.event_id
		 WHERE v.model = $1 AND v.event_id = ANY($2) AND v.event_hash = e.content_hash`, model, ids)
	if err != nil {
		return nil, fmt.Errorf("recheck pending embeddings: %w", err)
	}
	current, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("recheck pending embeddings: %w", err)
	}
	if len(current) == 0 {
		return pending, nil
	}
	done := make(map[int64]bool, len(current))
	for _, id := range current {
		done[id] = true
	}
	kept := pending[:0]
	for _, p := range pending {
		if !done[p.id] {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// Count is how many vectors of model are stored.
func Count(ctx context.Context, pool *pgxpool.Pool, model string) (int, error) {
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM embeddings WHERE model = $1`, model).Scan(&n); err != nil {
		return 0, fmt.Errorf("count vectors: %w", err)
	}
	return n, nil
}
