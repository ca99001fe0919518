package eval

import (
	"math"
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

func TestCountRetrieval(t *testing.T) {
	items := []Item{{"a", day(1), "s"}, {"b", day(2), "s"}, {"c", day(3), "s"}, {"x", day(2), "t"}, {"y", day(3), "t"}}
	retrieved := map[string][]string{"b": {"a"}, "c": {"x", "b"}, "y": {"a"}}
	got := CountRetrieval(items, retrieved, 15)
	// b: 1 of 1; c: 1 of 2; y: 0 of 1.
	want := RetrievalCounts{Queries: 3, Found: 2, Possible: 4, HitQueries: 2}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.Recall() != 0.5 || got.Hit() != 2.0/3 {
		t.Errorf("Recall() = %v, Hit() = %v; want 0.5 and 2/3 unrounded", got.Recall(), got.Hit())
	}
	if s := ScoreRetrieval(items, retrieved, 15); s != got.Retrieval() || s.HitAtK != 0.667 {
		t.Errorf("ScoreRetrieval = %+v; want the rounded counts %+v", s, got.Retrieval())
	}
	if (RetrievalCounts{}).Retrieval() != (Retrieval{}) {
		t.Error("no queries: want zero figures")
	}
}

func TestLinkCounts(t *testing.T) {
	var c LinkCounts
	for _, d := range []struct{ said, related bool }{{true, true}, {true, true}, {true, false}, {false, true}, {false, false}, {false, false}} {
		c.Add(d.said, d.related)
	}
	if want := (LinkCounts{TP: 2, FP: 1, FN: 1, Scored: 6}); c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	if c.Precision() != 2.0/3 || c.Recall() != 2.0/3 || math.Abs(c.F1()-2.0/3) > 1e-15 {
		t.Errorf("P, R, F1 = %v, %v, %v; want 2/3 each, unrounded", c.Precision(), c.Recall(), c.F1())
	}
	if l := c.Link(); l != (Link{Precision: 0.667, Recall: 0.667, F1: 0.667, ScoredPairs: 6}) {
		t.Errorf("Link() = %+v", l)
	}
	if (LinkCounts{}).Link() != (Link{}) {
		t.Error("no pairs: want zero figures")
	}
}

func TestCountLinks(t *testing.T) {
	items := []Item{{"a", day(1), "s"}, {"b", day(2), "s"}, {"c", day(3), "t"}, {"d", day(4), "s"}, {"n", day(5), ""}}
	retrieved := []Pair{{"b", "a"}, {"c", "a"}, {"c", "b"}, {"d", "a"}, {"d", "b"}, {"n", "a"}}
	written := map[Pair]bool{{"b", "a"}: true, {"c", "b"}: true, {"n", "a"}: true}
	got := CountLinks(items, retrieved, written)
	if want := (LinkCounts{TP: 1, FP: 1, FN: 2, Scored: 5}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if s := ScoreLinks(items, retrieved, written); s != got.Link() {
		t.Errorf("ScoreLinks = %+v; want the rounded counts %+v", s, got.Link())
	}
}
