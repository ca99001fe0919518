package analyzer

import (
	"math"
	"os"
	"testing"

	"github.com/relator/relator/internal/devset"
	"github.com/relator/relator/internal/eval"
)

// TestOfflineLinkVariants measures alternatives to the offline classifier's
// decision rule on the dev set, for the record (set RELATOR_VARIANTS=1).
// Each variant scores every retrieved pair and is shown at its best
// threshold, which flatters it; the chosen rule's default threshold is
// fixed in advance of the gate, in TestOfflineLinkQuality.
func TestOfflineLinkVariants(t *testing.T) {
	if os.Getenv("RELATOR_VARIANTS") == "" {
		t.Skip("set RELATOR_VARIANTS=1 to measure the variants")
	}
	evs := devset.Events(t)
	rs := retrieveAll(t, evs)
	type pair struct {
		ev      evidence
		related bool
	}
	var pairs []pair
	for _, r := range rs {
		ne := evs[r.newIdx]
		story := devset.Story(ne)
		if story == "" {
			continue
		}
		newP := newProfile(ne)
		top := math.Inf(-1)
		for _, c := range r.candidates {
			top = math.Max(top, c.Similarity)
		}
		for _, c := range r.candidates {
			cs := devset.Story(c.Event)
			if cs == "" {
				continue
			}
			pairs = append(pairs, pair{gather(newP, ne, c, newProfile(c.Event), top), cs == story})
		}
	}
	shared := func(ev evidence) float64 { return float64(min(len(ev.shared), maxSharedNames)) }
	variants := []struct {
		name  string
		score func(evidence) float64
	}{
		{"cosine", func(ev evidence) float64 { return ev.sim }},
		{"cosine / best cosine of the call", func(ev evidence) float64 { return ev.sim / ev.topSim }},
		{"shared names", shared},
		{"shared name atoms", func(ev evidence) float64 { return float64(ev.atoms) }},
		{"content-word overlap", func(ev evidence) float64 { return ev.overlap }},
		{"5·cosine + shared names (chosen)", relatedness},
		{"3·cosine + shared names", func(ev evidence) float64 { return 3*ev.sim + shared(ev) }},
		{"8·cosine + shared names", func(ev evidence) float64 { return 8*ev.sim + shared(ev) }},
		{"chosen − 0.03·days", func(ev evidence) float64 { return relatedness(ev) - 0.03*ev.days }},
		{"chosen − 0.3·ln(rank)", func(ev evidence) float64 { return relatedness(ev) - 0.3*math.Log(float64(ev.rank)) }},
		{"chosen + overlap", func(ev evidence) float64 { return relatedness(ev) + ev.overlap }},
		{"chosen + 0.25·atoms", func(ev evidence) float64 { return relatedness(ev) + 0.25*float64(min(ev.atoms, 4)) }},
		{"chosen + cosine/best", func(ev evidence) float64 { return relatedness(ev) + ev.sim/ev.topSim }},
	}
	for _, v := range variants {
		best, bestT := eval.LinkCounts{}, 0.0
		for i := 0; i <= 400; i++ {
			thr := -1 + float64(i)*0.02
			var s eval.LinkCounts
			for _, p := range pairs {
				s.Add(v.score(p.ev) >= thr, p.related)
			}
			if s.F1() > best.F1() {
				best, bestT = s, thr
			}
		}
		t.Logf("%-34s best threshold %5.2f: %s", v.name, bestT, linkString(best))
	}
}
