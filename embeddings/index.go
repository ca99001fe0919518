package embeddings

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// HNSW indexes only vectors of up to 2,000 dimensions; halfvec (half
// precision) up to 4,000. Larger vectors are searched exactly.
const (
	maxVectorIndexDims  = 2000
	maxHalfvecIndexDims = 4000
)

// space is how one model's vectors are indexed and compared: the cast that
// the index is built on, which every query must repeat for the planner to
// use it.
type space struct {
	model string
	dims  int
}

// cast is the typed expression the HNSW index of this space is built on.
func (s space) cast(expr string) string {
	if s.dims > maxVectorIndexDims {
		return fmt.Sprintf("(%s)::halfvec(%d)", expr, s.dims)
	}
	return fmt.Sprintf("(%s)::vector(%d)", expr, s.dims)
}

func (s space) opclass() string {
	if s.dims > maxVectorIndexDims {
		return "halfvec_cosine_ops"
	}
	return "vector_cosine_ops"
}

func (s space) indexName() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", s.model, s.dims))
	return fmt.Sprintf("embeddings_hnsw_%x", sum[:6])
}

func (s space) indexed() bool { return s.dims <= maxHalfvecIndexDims }

// EnsureIndex creates, if missing, the HNSW cosine index over model's
// vectors: a partial index on the vectors cast to their dimension, so each
// model has its own graph and models of different sizes can share the table.
// An advisory lock keeps two processes from building it at once.
func EnsureIndex(ctx context.Context, pool *pgxpool.Pool, model string, dims int, opts IndexOptions) error {
	return createIndex(ctx, pool, model, dims, opts, "")
}

// IndexOptions are the HNSW graph's build parameters. They apply to
// indexes built from then on: an existing index keeps the graph it has
// until it is dropped (as a bulk load does) and built again.
type IndexOptions struct {
	// M is how many neighbours each vector links to: more links make a
	// graph that clustered data (near-duplicates, stories) cannot cut into
	// islands, at the cost of build time and size. Default 16.
	M int
	// EfConstruction is the candidate list while building: larger builds
	// a better graph, more slowly. Default 128: on 100,000 clustered
	// vectors of 1,024 dimensions pgvector's 64 gave recall@15 0.91 and
	// 128 gave 0.99, for a quarter more build time (relator bench --knn).
	EfConstruction int
}

// WithDefaults is o with every default filled in.
func (o IndexOptions) WithDefaults() IndexOptions { return o.withDefaults() }

func (o IndexOptions) withDefaults() IndexOptions {
	if o.M <= 0 {
		o.M = 16
	}
	if o.EfConstruction <= 0 {
		o.EfConstruction = 128
	}
	return o
}

// BuildIndex is EnsureIndex after a bulk load: the same index, built with
// the memory and parallel workers a large graph needs to be built fast.
func BuildIndex(ctx context.Context, pool *pgxpool.Pool, model string, dims int, opts IndexOptions) error {
	return createIndex(ctx, pool, model, dims, opts, `
		SET LOCAL maintenance_work_mem = '1GB';
		SET LOCAL max_parallel_maintenance_workers = 2`)
}

func createIndex(ctx context.Context, pool *pgxpool.Pool, model string, dims int, opts IndexOptions, settings string) error {
	s := space{model, dims}
	if !s.indexed() {
		return nil
	}
	opts = opts.withDefaults()
	// DDL takes no parameters: the server quotes the index name (%I) and
	// the model name (%L) into it with format(), whatever the session's
	// standard_conforming_strings; the cast, the operator class and the two
	// integers are relator's own.
	template := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %%I ON embeddings USING hnsw ((%s) %s) WITH (m = %d, ef_construction = %d) WHERE model = %%L`,
		s.cast("embedding"), s.opclass(), opts.M, opts.EfConstruction)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var ddl string
		if err := tx.QueryRow(ctx, `SELECT format($1::text, $2::text, $3::text)`, template, s.indexName(), model).Scan(&ddl); err != nil {
			return fmt.Errorf("index ddl: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('relator.embeddings.index'))`); err != nil {
			return fmt.Errorf("lock index creation: %w", err)
		}
		if settings != "" {
			if _, err := tx.Exec(ctx, settings); err != nil {
				return fmt.Errorf("index build settings: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create hnsw index for %s: %w", model, err)
		}
		return nil
	})
}

// DropIndex drops model's HNSW index, if any, before a bulk load that
// BuildIndex follows.
func DropIndex(ctx context.Context, pool *pgxpool.Pool, model string, dims int) error {
	s := space{model, dims}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('relator.embeddings.index'))`); err != nil {
			return fmt.Errorf("lock index creation: %w", err)
		}
		if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+pgx.Identifier{s.indexName()}.Sanitize()); err != nil {
			return fmt.Errorf("drop hnsw index for %s: %w", model, err)
		}
		return nil
	})
}
