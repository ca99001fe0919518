package embeddings_test

import (
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/devset"
	"github.com/relator/relator/internal/eval"
)

// evalRetrieval retrieves devset.K candidates for every dev-set event with emb
// and rerank (devset.Retrieve) and counts recall@k and hit@k as DESIGN.md
// defines them (eval.CountRetrieval).
func evalRetrieval(tb testing.TB, evs []events.Event, emb embeddings.Embedder, rerank devset.Reranker) eval.RetrievalCounts {
	tb.Helper()
	cands, err := devset.Retrieve(evs, emb, rerank, devset.K)
	if err != nil {
		tb.Fatal(err)
	}
	retrieved := make(map[string][]string, len(evs))
	for i, ns := range cands {
		for _, n := range ns {
			retrieved[evs[i].SourceID] = append(retrieved[evs[i].SourceID], evs[n.EventID].SourceID)
		}
	}
	return eval.CountRetrieval(devset.Items(evs), retrieved, devset.K)
}

// TestOfflineRetrievalQuality is the offline embedder's quality gate on the
// dev set: recall@15 must reach 0.60 (plain TF-IDF cosine gets 0.569).
func TestOfflineRetrievalQuality(t *testing.T) {
	evs := devset.Events(t)
	emb := embeddings.NewOffline(embeddings.OfflineOptions{})
	s := evalRetrieval(t, evs, emb, embeddings.Rerank)
	t.Logf("offline embedder %s + Rerank on %d events, %d queries: recall@%d = %.3f, hit@%d = %.3f",
		emb.Model(), len(evs), s.Queries, devset.K, s.Recall(), devset.K, s.Hit())
	if s.Recall() < 0.60 {
		t.Errorf("recall@%d = %.3f, want ≥ 0.60", devset.K, s.Recall())
	}
}
