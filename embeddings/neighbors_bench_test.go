package embeddings_test

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/synth"
)

// BenchmarkNeighbors is the candidate retrieval of one event, as the
// analysis issues it: the prior-only top 15 among 5,000 synthetic events
// (offline vectors, 1,024 dimensions, the HNSW index built after the load),
// for events drawn across the archive.
func BenchmarkNeighbors(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.New(b)
	const n = 5000
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.Write(pw, synth.Options{Events: n, Seed: 3})) }()
	if _, err := events.Import(ctx, pool, pr); err != nil {
		b.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{DeferIndex: true}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := embeddings.Neighbors(ctx, pool, e.Model(), 1+rng.Int64N(n), embeddings.SearchOptions{K: 15}); err != nil {
			b.Fatal(err)
		}
	}
}
