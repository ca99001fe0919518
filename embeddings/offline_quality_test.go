package embeddings

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"
	"time"
)

// devSet is the story-labelled development set (see its README).
const devSet = "../testdata/wikitimes-2015-09/events.jsonl"

// evalK is the number of candidates retrieved per event.
const evalK = 15

// devEvent is the part of a dev-set event the harness needs.
type devEvent struct {
	ID         string    `json:"id"`
	OccurredAt string    `json:"occurred_at"`
	Title      *string   `json:"title"`
	Summary    *string   `json:"summary"`
	Actors     []string  `json:"actors"`
	Story      *string   `json:"story"`
	at         time.Time // parsed OccurredAt
}

func loadDevSet(tb testing.TB) []devEvent {
	tb.Helper()
	f, err := os.Open(devSet)
	if err != nil {
		tb.Fatalf("open dev set: %v", err)
	}
	defer f.Close()
	var evs []devEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e devEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			tb.Fatalf("decode dev set line %d: %v", len(evs)+1, err)
		}
		if e.at, err = parseWhen(e.OccurredAt); err != nil {
			tb.Fatalf("dev set event %s: %v", e.ID, err)
		}
		evs = append(evs, e)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read dev set: %v", err)
	}
	// Prior means earlier in (occurred_at, id) order.
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].at.Equal(evs[j].at) {
			return evs[i].at.Before(evs[j].at)
		}
		return evs[i].ID < evs[j].ID
	})
	return evs
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("occurred_at %q: %w", s, err)
	}
	return t, nil
}

func (e devEvent) document() Document {
	var d Document
	if e.Title != nil {
		d.Title = *e.Title
	}
	if e.Summary != nil {
		d.Summary = *e.Summary
	}
	d.Actors = e.Actors
	return d
}

func (e devEvent) story() string {
	if e.Story == nil {
		return ""
	}
	return *e.Story
}

// retrievalScore is recall@k and hit@k as DESIGN.md defines them.
type retrievalScore struct {
	Recall, Hit float64
	Queries     int
}

// reranker is the signature of Rerank, so that variants can be measured.
type reranker func(at time.Time, pool []Neighbor, k int) []Neighbor

// evalRetrieval embeds every dev-set event, retrieves for each the exact
// cosine top-P priors (P = max(4k, 60), as the database does), re-ranks
// them and scores the top k.
func evalRetrieval(tb testing.TB, evs []devEvent, emb Embedder, rerank reranker) retrievalScore {
	tb.Helper()
	texts := make([]string, len(evs))
	for i, e := range evs {
		texts[i] = Text(e.document())
	}
	vecs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		tb.Fatalf("embed: %v", err)
	}
	pool := max(4*evalK, 60)
	var hits, capped, queries, hitQueries int
	for i, q := range evs {
		related := 0
		for j := 0; j < i; j++ {
			if q.story() != "" && evs[j].story() == q.story() {
				related++
			}
		}
		if related == 0 {
			continue
		}
		queries++
		top := rerank(q.at, exactPriors(vecs, evs, i, pool), evalK)
		h := 0
		for _, n := range top {
			if evs[n.EventID].story() == q.story() {
				h++
			}
		}
		hits += h
		capped += min(evalK, related)
		if h > 0 {
			hitQueries++
		}
	}
	return retrievalScore{
		Recall:  float64(hits) / float64(capped),
		Hit:     float64(hitQueries) / float64(queries),
		Queries: queries,
	}
}

// exactPriors returns the p priors of event i most similar to it, highest
// first; EventID is the index into evs.
func exactPriors(vecs [][]float32, evs []devEvent, i, p int) []Neighbor {
	ns := make([]Neighbor, 0, i)
	for j := 0; j < i; j++ {
		ns = append(ns, Neighbor{EventID: int64(j), OccurredAt: evs[j].at, Similarity: cosine(vecs[i], vecs[j])})
	}
	sort.SliceStable(ns, func(a, b int) bool { return ns[a].Similarity > ns[b].Similarity })
	if len(ns) > p {
		ns = ns[:p]
	}
	return ns
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

// TestOfflineRetrievalQuality is the offline embedder's quality gate on the
// dev set: recall@15 must reach 0.60 (plain TF-IDF cosine gets 0.569).
func TestOfflineRetrievalQuality(t *testing.T) {
	evs := loadDevSet(t)
	emb := NewOffline(OfflineOptions{})
	s := evalRetrieval(t, evs, emb, Rerank)
	t.Logf("offline embedder %s + Rerank on %d events, %d queries: recall@%d = %.3f, hit@%d = %.3f",
		emb.Model(), len(evs), s.Queries, evalK, s.Recall, evalK, s.Hit)
	if s.Recall < 0.60 {
		t.Errorf("recall@%d = %.3f, want ≥ 0.60", evalK, s.Recall)
	}
}
