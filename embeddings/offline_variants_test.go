package embeddings

import (
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

// timeFusion is a re-ranking variant: similarity + lambda·exp(−days/tau).
// The zero value is Rerank itself.
type timeFusion struct{ lambda, tau float64 }

func (f timeFusion) rerank(at time.Time, pool []Neighbor, k int) []Neighbor {
	if f.lambda == 0 {
		return Rerank(at, pool, k)
	}
	score := func(n Neighbor) float64 {
		days := math.Abs(at.Sub(n.OccurredAt).Hours() / 24)
		return n.Similarity + f.lambda*math.Exp(-days/f.tau)
	}
	out := slices.Clone(pool)
	slices.SortStableFunc(out, func(a, b Neighbor) int {
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
// choices on the dev set, for the record (set RELATOR_VARIANTS=1).
func TestOfflineVariants(t *testing.T) {
	if os.Getenv("RELATOR_VARIANTS") == "" {
		t.Skip("set RELATOR_VARIANTS=1 to measure the variants")
	}
	evs := loadDevSet(t)
	d := defaultOfflineParams()
	mod := func(f func(*offlineParams)) offlineParams { p := d; f(&p); return p }
	bare := offlineParams{word: 1, name: 1, number: 1, short: 1, generic: 1, logTF: true, signed: true}
	type variant struct {
		name string
		p    offlineParams
		dims int
		rp   timeFusion
	}
	vs := []variant{
		{"default", d, 1024, timeFusion{}},
		{"unigrams only", bare, 1024, timeFusion{}},
		{"+ stemming", mod(func(p *offlineParams) { *p = bare; p.stem = true }), 1024, timeFusion{}},
		{"+ stemming + name/number/short weights", mod(func(p *offlineParams) {
			*p = bare
			p.stem, p.name, p.number, p.short = true, d.name, d.number, d.short
		}), 1024, timeFusion{}},
		{"+ generic words", mod(func(p *offlineParams) {
			*p = bare
			p.stem, p.name, p.number, p.short, p.generic = true, d.name, d.number, d.short, d.generic
		}), 1024, timeFusion{}},
		{"default - bigrams", mod(func(p *offlineParams) { p.bigram = 0 }), 1024, timeFusion{}},
		{"default - entity phrases/actor names", mod(func(p *offlineParams) { p.entity = 0 }), 1024, timeFusion{}},
		{"default - actor words", mod(func(p *offlineParams) { p.actorW = 0 }), 1024, timeFusion{}},
		{"default - char 4-grams", mod(func(p *offlineParams) { p.char = 0 }), 1024, timeFusion{}},
		{"default - name keys", mod(func(p *offlineParams) { p.nameKey = 0 }), 1024, timeFusion{}},
		{"default - generic down-weighting", mod(func(p *offlineParams) { p.generic = 1 }), 1024, timeFusion{}},
		{"default - stemming", mod(func(p *offlineParams) { p.stem = false }), 1024, timeFusion{}},
		{"default - sublinear tf", mod(func(p *offlineParams) { p.logTF = false }), 1024, timeFusion{}},
		{"default, unsigned hashing", mod(func(p *offlineParams) { p.signed = false }), 1024, timeFusion{}},
		{"default, per-kind blocks", mod(func(p *offlineParams) { p.blocks = true }), 1024, timeFusion{}},
		{"default, char 3-grams", mod(func(p *offlineParams) { p.charN = 3 }), 1024, timeFusion{}},
		{"default, char 5-grams", mod(func(p *offlineParams) { p.charN = 5 }), 1024, timeFusion{}},
		{"dims 256", d, 256, timeFusion{}},
		{"dims 512", d, 512, timeFusion{}},
		{"dims 2048", d, 2048, timeFusion{}},
		{"dims 4096", d, 4096, timeFusion{}},
	}
	for _, lam := range []float64{0.005, 0.01, 0.02, 0.05, 0.1} {
		for _, tau := range []float64{1, 2, 5, 10, 30, 100} {
			vs = append(vs, variant{name: "default + time fusion", p: d, dims: 1024, rp: timeFusion{lambda: lam, tau: tau}})
		}
	}
	for _, v := range vs {
		s := evalRetrieval(t, evs, newOffline(OfflineOptions{Dimensions: v.dims}, v.p), v.rp.rerank)
		t.Logf("%-40s dims=%4d λ=%.3f τ=%5.1fd  recall@15=%.3f hit@15=%.3f", v.name, v.dims, v.rp.lambda, v.rp.tau, s.Recall, s.Hit)
	}
}
