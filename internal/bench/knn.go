package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/relator/relator/embeddings"
)

// KNNOptions configures KNN.
type KNNOptions struct {
	Vectors int
	Dims    int
	// Queries is how many events are searched (spread over the archive,
	// as a backfill searches every event once). Default 200.
	Queries int
	Seed    uint64
	// Search is the search as the analysis issues it (K 15 by default).
	Search embeddings.SearchOptions
	// Index are the HNSW build parameters.
	Index embeddings.IndexOptions
}

// KNNResult is what KNN measured.
type KNNResult struct {
	Vectors, Dims, Queries int
	LoadSeconds            float64
	BuildSeconds           float64
	P50ms, P95ms, MaxMS    float64
	ExactP50ms             float64
	// P95FirstTenthMS is the p95 of queries among the first tenth of the
	// events (few priors among many later vectors), P95RestMS of the rest.
	P95FirstTenthMS, P95RestMS float64
	Recall                     float64 // mean recall@K against exact search
	ZeroRecall                 int     // queries that found none of the exact top K
}

// knnModel names the bench's vectors.
const knnModel = "bench-knn"

// KNN loads opts.Vectors clustered vectors (topics, stories within them,
// near-duplicate reports) in time order into the empty database of pool,
// builds the HNSW index, and measures the prior-only top-K search exactly
// as the analysis issues it (embeddings.Neighbors), with its recall
// against an exact search of the same priors.
func KNN(ctx context.Context, pool *pgxpool.Pool, opts KNNOptions) (KNNResult, error) {
	if opts.Queries <= 0 {
		opts.Queries = 200
	}
	res := KNNResult{Vectors: opts.Vectors, Dims: opts.Dims, Queries: opts.Queries}
	start := time.Now()
	if err := loadClustered(ctx, pool, opts); err != nil {
		return res, err
	}
	if _, err := pool.Exec(ctx, `ANALYZE events; ANALYZE embeddings`); err != nil {
		return res, err
	}
	res.LoadSeconds = time.Since(start).Seconds()
	start = time.Now()
	if err := embeddings.BuildIndex(ctx, pool, knnModel, opts.Dims, opts.Index); err != nil {
		return res, err
	}
	res.BuildSeconds = time.Since(start).Seconds()

	rng := rand.New(rand.NewPCG(opts.Seed, 99))
	var lat, exactLat, early, rest []float64
	var recall float64
	for range opts.Queries {
		id := int64(1 + rng.IntN(opts.Vectors))
		t := time.Now()
		got, err := embeddings.Neighbors(ctx, pool, knnModel, id, opts.Search)
		if err != nil {
			return res, err
		}
		lat = append(lat, ms(time.Since(t)))
		if id <= int64(opts.Vectors/10) {
			early = append(early, lat[len(lat)-1])
		} else {
			rest = append(rest, lat[len(lat)-1])
		}
		ex := opts.Search
		ex.Exact = true
		t = time.Now()
		want, err := embeddings.Neighbors(ctx, pool, knnModel, id, ex)
		if err != nil {
			return res, err
		}
		exactLat = append(exactLat, ms(time.Since(t)))
		if len(want) == 0 {
			recall++
			continue
		}
		hit := 0
		for _, w := range want {
			if slices.ContainsFunc(got, func(n embeddings.Neighbor) bool { return n.EventID == w.EventID }) {
				hit++
			}
		}
		if hit == 0 {
			res.ZeroRecall++
		}
		recall += float64(hit) / float64(len(want))
	}
	res.Recall = recall / float64(opts.Queries)
	res.P50ms, res.P95ms, res.MaxMS = quantile(lat, 0.5), quantile(lat, 0.95), quantile(lat, 1)
	res.ExactP50ms = quantile(exactLat, 0.5)
	res.P95FirstTenthMS, res.P95RestMS = quantile(early, 0.95), quantile(rest, 0.95)
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// loadClustered writes events and their vectors with COPY. Vector i
// belongs to a story of a topic; stories recur, recent ones more often; a
// tenth of the vectors are near-duplicates of their story's last one.
func loadClustered(ctx context.Context, pool *pgxpool.Pool, opts KNNOptions) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 7))
	d := opts.Dims
	gauss := func(scale float64) []float64 {
		v := make([]float64, d)
		for j := range v {
			v[j] = rng.NormFloat64() * scale / math.Sqrt(float64(d))
		}
		return v
	}
	var topics [][]float64
	type story struct{ center, last []float64 }
	var stories []*story
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	hash := sha256.Sum256([]byte("bench"))

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		n := opts.Vectors
		i := 0
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"source_id", "occurred_at", "title", "content_hash"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i >= n {
					return nil, nil
				}
				i++
				return []any{fmt.Sprintf("knn%08d", i), base.Add(time.Duration(i) * 15 * time.Minute), "bench", hash[:]}, nil
			}))
		if err != nil {
			return fmt.Errorf("load events: %w", err)
		}
		i = 0
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"embeddings"},
			[]string{"event_id", "model", "dimensions", "embedding", "text_hash", "event_hash", "occurred_at", "source_id"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i >= n {
					return nil, nil
				}
				i++
				if len(topics) == 0 || rng.Float64() < 0.002 {
					topics = append(topics, unit(gauss(1)))
				}
				if len(stories) == 0 || rng.Float64() < 0.02 {
					t := topics[len(topics)-1-int(float64(len(topics))*rng.Float64()*rng.Float64())]
					stories = append(stories, &story{center: unit(add(t, gauss(0.6)))})
				}
				s := stories[len(stories)-1-int(float64(len(stories))*rng.Float64()*rng.Float64()*rng.Float64())]
				var v []float64
				if s.last != nil && rng.Float64() < 0.1 {
					v = unit(add(s.last, gauss(0.05)))
				} else {
					v = unit(add(s.center, gauss(0.45)))
				}
				s.last = v
				f := make([]float32, d)
				for j := range v {
					f[j] = float32(v[j])
				}
				return []any{int64(i), knnModel, d, pgvector.NewVector(f), hash[:], hash[:],
					base.Add(time.Duration(i) * 15 * time.Minute), fmt.Sprintf("knn%08d", i)}, nil
			}))
		if err != nil {
			return fmt.Errorf("load vectors: %w", err)
		}
		return nil
	})
}

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func unit(v []float64) []float64 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return v
}
