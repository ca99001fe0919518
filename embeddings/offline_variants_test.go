package embeddings_test

import (
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/devset"
)

// timeFusion is a re-ranking variant: similarity + lambda·exp(−days/tau).
// The zero value is Rerank itself.
type timeFusion struct{ lambda, tau float64 }

func (f timeFusion) rerank(at time.Time, pool []embeddings.Neighbor, k int) []embeddings.Neighbor {
	if f.lambda == 0 {
		return embeddings.Rerank(at, pool, k)
	}
	score := func(n embeddings.Neighbor) float64 {
		days := math.Abs(at.Sub(n.OccurredAt).Hours() / 24)
		return n.Similarity + f.lambda*math.Exp(-days/f.tau)
	}
	out := slices.Clone(pool)
	slices.SortStableFunc(out, func(a, b embeddings.Neighbor) int {
		sa, sb := score(a), score(b)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out[:min(k, len(out))]
}

// TestOfflineVariants measures alternatives to the offline embedder's
// choices (embeddings.OfflineVariants) and time fusion in re-ranking on the
// dev set, for the record (set RELATOR_VARIANTS=1).
func TestOfflineVariants(t *testing.T) {
	if os.Getenv("RELATOR_VARIANTS") == "" {
		t.Skip("set RELATOR_VARIANTS=1 to measure the variants")
	}
	evs := devset.Events(t)
	type variant struct {
		name string
		emb  *embeddings.Offline
		rp   timeFusion
	}
	var vs []variant
	for _, v := range embeddings.OfflineVariants() {
		vs = append(vs, variant{v.Name, v.Embedder, timeFusion{}})
	}
	def := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 1024})
	for _, lam := range []float64{0.005, 0.01, 0.02, 0.05, 0.1} {
		for _, tau := range []float64{1, 2, 5, 10, 30, 100} {
			vs = append(vs, variant{"default + time fusion", def, timeFusion{lambda: lam, tau: tau}})
		}
	}
	for _, v := range vs {
		s := evalRetrieval(t, evs, v.emb, v.rp.rerank)
		t.Logf("%-40s dims=%4d λ=%.3f τ=%5.1fd  recall@15=%.3f hit@15=%.3f", v.name, v.emb.Dimensions(), v.rp.lambda, v.rp.tau, s.Recall(), s.Hit())
	}
}
