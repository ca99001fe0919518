// Package devset is the in-memory reference retrieval over the
// story-labelled WikiTimes dev set (testdata/wikitimes-2015-09): load the
// events in prior order, embed them all, take each event's exact cosine
// top-P priors and re-rank them to K, as relator's database search does.
//
// It exists so that the offline quality gates (embeddings and analyzer) and
// the database search tests share one harness and so measure the same
// thing; the figures they report are scored by internal/eval, as `relator
// eval` scores its own. It is test support: only _test.go files may import
// it (TestOnlyTestsImportDevset checks this).
package devset

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/eval"
)

// Path is the dev set's events file as seen from a package directory
// directly under the module root, where `go test` runs that package's tests.
const Path = "../testdata/wikitimes-2015-09/events.jsonl"

// K is the number of candidates the quality gates retrieve per event:
// relator's default top K.
const K = 15

// Events is Load(Path), failing tb when the dev set cannot be read.
func Events(tb testing.TB) []events.Event {
	tb.Helper()
	evs, err := Load(Path)
	if err != nil {
		tb.Fatalf("load dev set: %v", err)
	}
	return evs
}

// Load reads the event JSONL at path and returns its events in prior order:
// by occurred_at, then by source id. Each event's ID is its 1-based line
// position in the file, as a fresh import would number it; its story label
// is in Metadata (see Story).
func Load(path string) ([]events.Event, error) {
	evs, err := events.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		evs[i].ID = int64(i + 1)
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].OccurredAt.Equal(evs[j].OccurredAt) {
			return evs[i].OccurredAt.Before(evs[j].OccurredAt)
		}
		return evs[i].SourceID < evs[j].SourceID
	})
	return evs, nil
}

// Story is the event's story label, "" when it has none.
func Story(ev events.Event) string {
	s, _ := ev.Metadata["story"].(string)
	return s
}

// Items are the events as internal/eval scores them.
func Items(evs []events.Event) []eval.Item {
	items := make([]eval.Item, len(evs))
	for i, ev := range evs {
		items[i] = eval.Item{ID: ev.SourceID, OccurredAt: ev.OccurredAt, Story: Story(ev)}
	}
	return items
}

// Cosine is the cosine similarity of a and b, 0 when either is the zero
// vector.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// PoolSize is P for K: how many exact nearest priors are re-ranked, max(4K,
// 60) as in embeddings.SearchOptions.
func PoolSize(k int) int { return max(4*k, 60) }

// ExactPriors returns the pool priors of event i (the events before it in
// evs, which is in prior order) most similar to it by exact cosine of vecs,
// highest first, exact ties in prior order. EventID is the index into evs.
func ExactPriors(vecs [][]float32, evs []events.Event, i, pool int) []embeddings.Neighbor {
	ns := make([]embeddings.Neighbor, 0, i)
	for j := range i {
		ns = append(ns, embeddings.Neighbor{EventID: int64(j), OccurredAt: evs[j].OccurredAt, Similarity: Cosine(vecs[i], vecs[j])})
	}
	sort.SliceStable(ns, func(a, b int) bool { return ns[a].Similarity > ns[b].Similarity })
	return ns[:min(pool, len(ns))]
}

// Reranker is the signature of embeddings.Rerank, so that variants of it can
// be measured.
type Reranker func(at time.Time, pool []embeddings.Neighbor, k int) []embeddings.Neighbor

// Retrieve embeds every event of evs (in prior order, as Load returns them)
// with emb and returns, per event, its k candidates as relator retrieves
// them: the exact cosine top-PoolSize(k) priors, re-ranked by rerank to k.
// EventID is the index into evs; the first event has none.
func Retrieve(evs []events.Event, emb embeddings.Embedder, rerank Reranker, k int) ([][]embeddings.Neighbor, error) {
	texts := make([]string, len(evs))
	for i, e := range evs {
		texts[i] = embeddings.Text(embeddings.Document{Title: e.Title, Summary: e.Summary, Content: e.Content, Actors: e.ActorNames()})
	}
	vecs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	out := make([][]embeddings.Neighbor, len(evs))
	for i, e := range evs {
		out[i] = rerank(e.OccurredAt, ExactPriors(vecs, evs, i, PoolSize(k)), k)
	}
	return out, nil
}
