package analyzer

import (
	"context"
	"fmt"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/devset"
	"github.com/relator/relator/internal/eval"
)

// retrieval is one New Event with its numbered candidates, retrieved as
// relator retrieves them (devset.Retrieve with the offline embedder and
// embeddings.Rerank).
type retrieval struct {
	newIdx     int // index into the dev set
	candidates []Candidate
}

func retrieveAll(tb testing.TB, evs []events.Event) []retrieval {
	tb.Helper()
	cands, err := devset.Retrieve(evs, embeddings.NewOffline(embeddings.OfflineOptions{}), embeddings.Rerank, devset.K)
	if err != nil {
		tb.Fatal(err)
	}
	var out []retrieval
	for i := 1; i < len(evs); i++ {
		r := retrieval{newIdx: i}
		for n, nb := range cands[i] {
			r.candidates = append(r.candidates, Candidate{Number: n + 1, Event: evs[nb.EventID], Similarity: nb.Similarity})
		}
		out = append(out, r)
	}
	return out
}

// evalLinks classifies every retrieval with cl and counts its returned
// relations as "related" decisions over the retrieved pairs in which both
// events have a story, as DESIGN.md's eval defines them
// (eval.CountLinks). It also counts the relations of each type.
func evalLinks(tb testing.TB, evs []events.Event, rs []retrieval, cl Classifier) (eval.LinkCounts, map[RelationType]int) {
	tb.Helper()
	byType := map[RelationType]int{}
	var pairs []eval.Pair
	written := map[eval.Pair]bool{}
	for _, r := range rs {
		ne := evs[r.newIdx]
		res, err := cl.Classify(context.Background(), ne, r.candidates)
		if err != nil {
			tb.Fatalf("Classify: %v", err)
		}
		for _, rel := range res.Relations {
			byType[rel.Type]++
			if rel.Number >= 1 && rel.Number <= len(r.candidates) {
				written[eval.Pair{New: ne.SourceID, Prior: r.candidates[rel.Number-1].Event.SourceID}] = true
			}
		}
		for _, c := range r.candidates {
			pairs = append(pairs, eval.Pair{New: ne.SourceID, Prior: c.Event.SourceID})
		}
	}
	return eval.CountLinks(devset.Items(evs), pairs, written), byType
}

// linkString shows link counts and their unrounded figures.
func linkString(c eval.LinkCounts) string {
	return fmt.Sprintf("P=%.3f R=%.3f F1=%.3f (tp=%d fp=%d fn=%d, %d scored pairs)",
		c.Precision(), c.Recall(), c.F1(), c.TP, c.FP, c.FN, c.Scored)
}

// TestOfflineLinkQuality is the offline classifier's quality gate on the dev
// set: over the retrieved top-15 pairs in which both events have a story,
// with a returned relation as a "related" decision, link F1 must reach 0.60
// (a plain similarity threshold over TF-IDF top-15 gets 0.53).
func TestOfflineLinkQuality(t *testing.T) {
	evs := devset.Events(t)
	rs := retrieveAll(t, evs)
	cl := NewOffline(OfflineOptions{})
	s, byType := evalLinks(t, evs, rs, cl)
	t.Logf("offline classifier %s/%s on %d events: %s", cl.Model(), cl.PromptVersion(), len(evs), linkString(s))
	var total int
	for _, n := range byType {
		total += n
	}
	for _, info := range Taxonomy() {
		t.Logf("  %-13s %4d relations (%.0f%%)", info.Type, byType[info.Type], 100*float64(byType[info.Type])/float64(max(total, 1)))
	}
	if s.F1() < 0.60 {
		t.Errorf("link F1 = %.3f, want ≥ 0.60", s.F1())
	}
}
