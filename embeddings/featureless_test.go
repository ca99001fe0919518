package embeddings_test

import (
	"context"
	"testing"
	"time"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pgtest"
)

// A text with no features has no direction: its zero vector is stored, so
// it is no longer pending (so the analysis watermark passes it), has
// no neighbours and is no one's neighbour; new content embeds it again.
func TestFeaturelessEventHasNoVectorAndIsNoCandidate(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if v := e.Vector("??? !!! …"); v[0] != 0 || len(v) != 64 {
		t.Fatalf("the test's featureless text has features")
	}
	importString(t, pool, `{"id":"a","occurred_at":"2026-04-01","title":"Ceasefire talks in Doha","summary":"Delegations meet in Doha for ceasefire talks."}
{"id":"b","occurred_at":"2026-04-02","title":"??? !!! …"}
{"id":"c","occurred_at":"2026-04-03","title":"Ceasefire talks in Doha resume","summary":"Delegations meet again in Doha."}
`)
	st, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded != 3 || st.Featureless != 1 {
		t.Fatalf("stats %+v: want 3 embedded, 1 of them featureless", st)
	}
	if n, err := embeddings.Pending(ctx, pool, e.Model(), time.Time{}); err != nil || n != 0 {
		t.Fatalf("pending %d, %v: a featureless event must not stay pending", n, err)
	}
	id := func(src string) int64 {
		ev, err := events.BySourceID(ctx, pool, src)
		if err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	for _, exact := range []bool{true, false} {
		ns, err := embeddings.Neighbors(ctx, pool, e.Model(), id("c"), embeddings.SearchOptions{K: 5, Exact: exact})
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].EventID != id("a") {
			t.Errorf("exact %v: neighbours of c %+v; want a alone", exact, ns)
		}
	}
	ns, err := embeddings.Neighbors(ctx, pool, e.Model(), id("b"), embeddings.SearchOptions{K: 5})
	if err != nil || len(ns) != 0 {
		t.Errorf("neighbours of the featureless event: %+v, %v", ns, err)
	}
	importString(t, pool, `{"id":"b","occurred_at":"2026-04-02","title":"Ceasefire talks in Doha stall"}`+"\n")
	st, err = embeddings.Embed(ctx, pool, e, embeddings.StepOptions{})
	if err != nil || st.Embedded != 1 || st.Featureless != 0 {
		t.Fatalf("after new content: %+v, %v", st, err)
	}
	if ns, _ := embeddings.Neighbors(ctx, pool, e.Model(), id("c"), embeddings.SearchOptions{K: 5}); len(ns) != 2 {
		t.Errorf("neighbours of c once b has features: %+v", ns)
	}
}
