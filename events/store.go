package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ImportStats counts what an import did.
type ImportStats struct {
	Lines      int // events read
	Inserted   int
	Updated    int // stored fields changed
	Unchanged  int
	Superseded int // events whose id came again later in the same file (the later line wins)
}

// Import is ImportWith the default ReadOptions.
func Import(ctx context.Context, pool *pgxpool.Pool, r io.Reader) (ImportStats, error) {
	return ImportWith(ctx, pool, r, ReadOptions{})
}

// ImportWith reads event JSONL from r and upserts every event by its id, in
// one transaction: a malformed line fails the whole import with a *LineError
// and nothing of the file is written. An event whose content hash changes is
// embedded and analysed again by the next run.
func ImportWith(ctx context.Context, pool *pgxpool.Pool, r io.Reader, opts ReadOptions) (ImportStats, error) {
	var stats ImportStats
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			CREATE TEMP TABLE import_events (
				line int NOT NULL, source_id text NOT NULL, occurred_at timestamptz NOT NULL,
				title text, summary text, content text,
				sources jsonb NOT NULL, actors jsonb NOT NULL, metadata jsonb NOT NULL,
				content_hash bytea NOT NULL
			) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("create import table: %w", err)
		}
		src := &copySource{r: NewReaderOptions(r, opts)}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"import_events"},
			[]string{"line", "source_id", "occurred_at", "title", "summary", "content", "sources", "actors", "metadata", "content_hash"},
			src)
		if src.err != nil {
			return src.err // the line at fault, not COPY's wrapping of it
		}
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		stats.Lines = int(n)

		// The latest line of an id wins; an update touches only rows that
		// really change, so a re-import of the same file writes nothing.
		rows, err := tx.Query(ctx, `
			INSERT INTO events AS e (source_id, occurred_at, title, summary, content, sources, actors, metadata, content_hash)
			SELECT DISTINCT ON (source_id) source_id, occurred_at, title, summary, content, sources, actors, metadata, content_hash
			  FROM import_events
			 ORDER BY source_id, line DESC
			ON CONFLICT (source_id) DO UPDATE SET
				occurred_at = excluded.occurred_at, title = excluded.title, summary = excluded.summary,
				content = excluded.content, sources = excluded.sources, actors = excluded.actors,
				metadata = excluded.metadata, content_hash = excluded.content_hash, updated_at = now()
			 WHERE (e.occurred_at, e.title, e.summary, e.content, e.sources, e.actors, e.metadata, e.content_hash)
			       IS DISTINCT FROM
			       (excluded.occurred_at, excluded.title, excluded.summary, excluded.content, excluded.sources,
			        excluded.actors, excluded.metadata, excluded.content_hash)
			RETURNING xmax = 0`)
		if err != nil {
			return fmt.Errorf("upsert events: %w", err)
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[bool])
		if err != nil {
			return fmt.Errorf("upsert events: %w", err)
		}
		for _, ins := range inserted {
			if ins {
				stats.Inserted++
			} else {
				stats.Updated++
			}
		}
		var distinct int
		if err := tx.QueryRow(ctx, `SELECT count(DISTINCT source_id) FROM import_events`).Scan(&distinct); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		stats.Superseded = stats.Lines - distinct
		stats.Unchanged = distinct - stats.Inserted - stats.Updated
		return nil
	})
	if err != nil {
		return ImportStats{}, err
	}
	return stats, nil
}

// copySource streams parsed events into COPY; a parse error ends the COPY
// and with it the transaction.
type copySource struct {
	r   *Reader
	ev  Event
	err error
}

func (s *copySource) Next() bool {
	s.ev, s.err = s.r.Next()
	if errors.Is(s.err, io.EOF) {
		s.err = nil
		return false
	}
	return s.err == nil
}

func (s *copySource) Values() ([]any, error) {
	ev := s.ev
	sources, err := json.Marshal(nonNil(ev.Sources))
	if err != nil {
		return nil, err
	}
	actors, err := json.Marshal(nonNil(ev.Actors))
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(nonNilMap(ev.Metadata))
	if err != nil {
		return nil, &LineError{Line: s.r.Line(), Err: fmt.Errorf("metadata: %w", err)}
	}
	return []any{s.r.Line(), ev.SourceID, ev.OccurredAt, nullable(ev.Title), nullable(ev.Summary), nullable(ev.Content),
		string(sources), string(actors), string(meta), ev.ContentHash()}, nil
}

func (s *copySource) Err() error { return s.err }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Querier is what the read functions need: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const selectEvent = `SELECT id, source_id, occurred_at, coalesce(title, ''), coalesce(summary, ''), coalesce(content, ''),
	sources, actors, metadata FROM events`

func scanEvent(row pgx.CollectableRow) (Event, error) {
	var ev Event
	err := row.Scan(&ev.ID, &ev.SourceID, &ev.OccurredAt, &ev.Title, &ev.Summary, &ev.Content,
		&ev.Sources, &ev.Actors, &ev.Metadata)
	ev.OccurredAt = ev.OccurredAt.UTC()
	return ev, err
}

// ErrNotFound is returned for an event id that is not stored.
var ErrNotFound = errors.New("event not found")

// BySourceID reads one event by its source id.
func BySourceID(ctx context.Context, q Querier, sourceID string) (Event, error) {
	rows, err := q.Query(ctx, selectEvent+` WHERE source_id = $1`, sourceID)
	if err != nil {
		return Event{}, fmt.Errorf("read event: %w", err)
	}
	ev, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	if errors.Is(err, pgx.ErrNoRows) {
		return Event{}, fmt.Errorf("%w: %s", ErrNotFound, sourceID)
	}
	if err != nil {
		return Event{}, fmt.Errorf("read event: %w", err)
	}
	return ev, nil
}

// ByIDs reads the events with the given database ids, keyed by id.
func ByIDs(ctx context.Context, q Querier, ids []int64) (map[int64]Event, error) {
	rows, err := q.Query(ctx, selectEvent+` WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make(map[int64]Event, len(list))
	for _, ev := range list {
		out[ev.ID] = ev
	}
	return out, nil
}

// Count returns how many events are stored.
func Count(ctx context.Context, q Querier) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

// Ref names a stored event by both its ids.
type Ref struct {
	ID       int64
	SourceID string
}

// InOrder lists every stored event in prior order: (occurred_at, source_id).
func InOrder(ctx context.Context, q Querier) ([]Ref, error) {
	rows, err := q.Query(ctx, `SELECT id, source_id FROM events ORDER BY occurred_at, source_id`)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Ref])
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return refs, nil
}
