package embeddings

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
)

// ExplainSearch returns the plan of the neighbour search for the latest
// event of model, made exactly as Neighbors makes it.
func ExplainSearch(ctx context.Context, pool *pgxpool.Pool, model string) (string, error) {
	var plan []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var vec pgvector.Vector
		var dims int
		var at any
		var sid string
		if err := tx.QueryRow(ctx, `SELECT embedding, dimensions, occurred_at, source_id FROM embeddings
			WHERE model = $1 ORDER BY occurred_at DESC, source_id DESC LIMIT 1`, model).Scan(&vec, &dims, &at, &sid); err != nil {
			return err
		}
		if err := setSearchOptions(ctx, tx, 60); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+searchSQL(space{model, dims}), vec, model, at, sid, nil, 60)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(plan, "\n"), err
}
