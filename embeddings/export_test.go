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
		if _, err := tx.Exec(ctx, searchSettings(false, 120)); err != nil {
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

// OfflineVariant is an offline embedder built with other parameters than
// NewOffline's, for TestOfflineVariants: that test measures it with the
// dev-set harness of internal/devset, which imports this package and so is
// out of reach of its internal tests.
type OfflineVariant struct {
	Name     string
	Embedder *Offline
}

// OfflineVariants are the alternatives to the offline embedder's choices,
// the default first.
func OfflineVariants() []OfflineVariant {
	d := defaultOfflineParams()
	mod := func(f func(*offlineParams)) offlineParams { p := d; f(&p); return p }
	bare := offlineParams{word: 1, name: 1, number: 1, short: 1, generic: 1, logTF: true, signed: true}
	v := func(name string, p offlineParams, dims int) OfflineVariant {
		return OfflineVariant{name, newOffline(OfflineOptions{Dimensions: dims}, p)}
	}
	return []OfflineVariant{
		v("default", d, 1024),
		v("unigrams only", bare, 1024),
		v("+ stemming", mod(func(p *offlineParams) { *p = bare; p.stem = true }), 1024),
		v("+ stemming + name/number/short weights", mod(func(p *offlineParams) {
			*p = bare
			p.stem, p.name, p.number, p.short = true, d.name, d.number, d.short
		}), 1024),
		v("+ generic words", mod(func(p *offlineParams) {
			*p = bare
			p.stem, p.name, p.number, p.short, p.generic = true, d.name, d.number, d.short, d.generic
		}), 1024),
		v("default - bigrams", mod(func(p *offlineParams) { p.bigram = 0 }), 1024),
		v("default - entity phrases/actor names", mod(func(p *offlineParams) { p.entity = 0 }), 1024),
		v("default - actor words", mod(func(p *offlineParams) { p.actorW = 0 }), 1024),
		v("default - char 4-grams", mod(func(p *offlineParams) { p.char = 0 }), 1024),
		v("default - name keys", mod(func(p *offlineParams) { p.nameKey = 0 }), 1024),
		v("default - generic down-weighting", mod(func(p *offlineParams) { p.generic = 1 }), 1024),
		v("default - stemming", mod(func(p *offlineParams) { p.stem = false }), 1024),
		v("default - sublinear tf", mod(func(p *offlineParams) { p.logTF = false }), 1024),
		v("default, unsigned hashing", mod(func(p *offlineParams) { p.signed = false }), 1024),
		v("default, per-kind blocks", mod(func(p *offlineParams) { p.blocks = true }), 1024),
		v("default, char 3-grams", mod(func(p *offlineParams) { p.charN = 3 }), 1024),
		v("default, char 5-grams", mod(func(p *offlineParams) { p.charN = 5 }), 1024),
		v("dims 256", d, 256),
		v("dims 512", d, 512),
		v("dims 2048", d, 2048),
		v("dims 4096", d, 4096),
	}
}
