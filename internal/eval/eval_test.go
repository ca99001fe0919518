package eval

import (
	"testing"
	"time"
)

func day(d int) time.Time { return time.Date(2015, 9, d, 0, 0, 0, 0, time.UTC) }

func TestScoreRetrieval(t *testing.T) {
	items := []Item{
		{"a", day(1), "s"}, {"b", day(2), "s"}, {"c", day(3), "s"},
		{"x", day(2), "t"}, {"y", day(3), "t"},
		{"n", day(1), ""}, {"u", day(4), "solo"},
	}
	retrieved := map[string][]string{
		"b": {"n", "a"},      // 1 of min(2,1)=1
		"c": {"x", "n"},      // 0 of min(2,2)=2
		"y": {"x", "a", "b"}, // k=2 cuts "b"; 1 of 1
		"u": {"a"},           // not a query: no prior of its story
	}
	got := ScoreRetrieval(items, retrieved, 2)
	want := Retrieval{Queries: 3, RecallAtK: round3(2.0 / 4), HitAtK: round3(2.0 / 3)}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestScoreRetrievalSameDayOrderByID(t *testing.T) {
	// Same day: "a1" is prior to "a2", never the reverse.
	items := []Item{{"a2", day(1), "s"}, {"a1", day(1), "s"}}
	got := ScoreRetrieval(items, map[string][]string{"a2": {"a1"}, "a1": {"a2"}}, 15)
	if got.Queries != 1 || got.RecallAtK != 1 {
		t.Fatalf("got %+v; want one query, a2, with recall 1", got)
	}
}

func TestScoreLinks(t *testing.T) {
	items := []Item{{"a", day(1), "s"}, {"b", day(2), "s"}, {"c", day(3), "t"}, {"d", day(4), "s"}, {"n", day(5), ""}}
	retrieved := []Pair{{"b", "a"}, {"c", "a"}, {"c", "b"}, {"d", "a"}, {"d", "b"}, {"n", "a"}}
	written := map[Pair]bool{{"b", "a"}: true, {"c", "b"}: true, {"n", "a"}: true}
	got := ScoreLinks(items, retrieved, written)
	// tp: b-a; fp: c-b; fn: d-a, d-b; n-a unscored.
	want := Link{Precision: 0.5, Recall: round3(1.0 / 3), F1: round3(0.4), ScoredPairs: 5}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
