package embeddings

import (
	"reflect"
	"testing"
	"time"
)

func TestRerank(t *testing.T) {
	at := time.Date(2015, 9, 20, 0, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return at.AddDate(0, 0, -d) }
	pool := []Neighbor{
		{EventID: 1, OccurredAt: day(10), Similarity: 0.9},
		{EventID: 2, OccurredAt: day(1), Similarity: 0.7},
		{EventID: 3, OccurredAt: day(5), Similarity: 0.7},
		{EventID: 4, OccurredAt: day(1), Similarity: 0.7},
		{EventID: 5, OccurredAt: day(0), Similarity: 0.2},
	}
	orig := append([]Neighbor(nil), pool...)
	got := Rerank(at, pool, 3)
	want := []Neighbor{pool[0], pool[3], pool[1]} // ties: more recent, then higher id
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rerank = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(pool, orig) {
		t.Error("Rerank modified its pool")
	}
	if got := Rerank(at, pool, 10); len(got) != len(pool) {
		t.Errorf("k above the pool size: %d neighbours, want %d", len(got), len(pool))
	}
	if got := Rerank(at, pool, 0); len(got) != 0 {
		t.Errorf("k = 0: %d neighbours", len(got))
	}
	if got := Rerank(at, nil, 5); len(got) != 0 {
		t.Errorf("empty pool: %d neighbours", len(got))
	}
	// Appending to the result must not write into a caller's array.
	short := Rerank(at, pool, 2)
	_ = append(short, Neighbor{EventID: 99})
	if again := Rerank(at, pool, 3); again[2].EventID == 99 {
		t.Error("result aliases internal storage")
	}
}

func TestRerankKeepsSimilarity(t *testing.T) {
	at := time.Date(2015, 9, 20, 0, 0, 0, 0, time.UTC)
	pool := []Neighbor{{EventID: 7, OccurredAt: at.AddDate(0, 0, -3), Similarity: 0.4321}}
	if got := Rerank(at, pool, 15); got[0].Similarity != 0.4321 {
		t.Errorf("Similarity = %v, want the cosine 0.4321", got[0].Similarity)
	}
}
