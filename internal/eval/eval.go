// Package eval scores retrieval and linking against story labels, exactly
// as DESIGN.md defines the figures of `relator eval`.
package eval

import (
	"math"
	"slices"
	"time"
)

// Item is one labelled event.
type Item struct {
	ID         string
	OccurredAt time.Time
	Story      string // "" when unlabelled
}

// Pair is a (new event, prior candidate) pair of ids.
type Pair struct{ New, Prior string }

// Retrieval is the retrieval part of the eval output.
type Retrieval struct {
	Queries   int
	RecallAtK float64
	HitAtK    float64
}

// Link is the linking part of the eval output.
type Link struct {
	Precision, Recall, F1 float64
	ScoredPairs           int
}

// RetrievalCounts are the counts behind Retrieval's figures.
type RetrievalCounts struct {
	Queries    int // items with a story and at least one related prior
	Found      int // Σ|top-k ∩ related priors|
	Possible   int // Σ min(k, |related priors|)
	HitQueries int // queries with at least one related prior in the top k
}

// Recall is recall@k, unrounded: Found / Possible (0 without queries).
func (c RetrievalCounts) Recall() float64 {
	if c.Possible == 0 {
		return 0
	}
	return float64(c.Found) / float64(c.Possible)
}

// Hit is hit@k, unrounded: HitQueries / Queries (0 without queries).
func (c RetrievalCounts) Hit() float64 {
	if c.Queries == 0 {
		return 0
	}
	return float64(c.HitQueries) / float64(c.Queries)
}

// Retrieval is the figures as the eval output reports them, rounded to three
// decimals.
func (c RetrievalCounts) Retrieval() Retrieval {
	return Retrieval{Queries: c.Queries, RecallAtK: round3(c.Recall()), HitAtK: round3(c.Hit())}
}

// ScoreRetrieval computes recall@k and hit@k. A query is an item with a
// story and at least one related prior (same story, earlier in
// (occurred_at, id) order); retrieved maps an id to its retrieved priors.
// recall@k = Σ|top-k ∩ related priors| / Σ min(k, |related priors|).
func ScoreRetrieval(items []Item, retrieved map[string][]string, k int) Retrieval {
	return CountRetrieval(items, retrieved, k).Retrieval()
}

// CountRetrieval counts what ScoreRetrieval scores, for callers that need
// the figures unrounded.
func CountRetrieval(items []Item, retrieved map[string][]string, k int) RetrievalCounts {
	ordered := slices.Clone(items)
	slices.SortStableFunc(ordered, func(a, b Item) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	members := map[string]map[string]bool{} // story → its ids
	for _, it := range ordered {
		if it.Story != "" {
			if members[it.Story] == nil {
				members[it.Story] = map[string]bool{}
			}
			members[it.Story][it.ID] = true
		}
	}
	var c RetrievalCounts
	seen := map[string]int{} // story → items so far
	for _, it := range ordered {
		if it.Story == "" {
			continue
		}
		priors := seen[it.Story]
		seen[it.Story]++
		if priors == 0 {
			continue
		}
		c.Queries++
		story := members[it.Story]
		got := retrieved[it.ID]
		if len(got) > k {
			got = got[:k]
		}
		h := 0
		for _, id := range got {
			if id != it.ID && story[id] {
				h++
			}
		}
		c.Found += h
		c.Possible += min(k, priors)
		if h > 0 {
			c.HitQueries++
		}
	}
	return c
}

// LinkCounts are the counts behind Link's figures: "related" decisions
// against the story labels over the scored pairs.
type LinkCounts struct {
	TP     int // decided related, and related
	FP     int // decided related, but not
	FN     int // related, but not decided so
	Scored int // pairs in which both events have a story
}

// Add counts one scored pair: said is the decision, related the truth.
func (c *LinkCounts) Add(said, related bool) {
	c.Scored++
	switch {
	case said && related:
		c.TP++
	case said && !related:
		c.FP++
	case !said && related:
		c.FN++
	}
}

// Precision is TP / (TP + FP), unrounded (0 without decisions).
func (c LinkCounts) Precision() float64 {
	if c.TP+c.FP == 0 {
		return 0
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// Recall is TP / (TP + FN), unrounded (0 without related pairs).
func (c LinkCounts) Recall() float64 {
	if c.TP+c.FN == 0 {
		return 0
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

// F1 is the harmonic mean of the unrounded Precision and Recall.
func (c LinkCounts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Link is the figures as the eval output reports them, rounded to three
// decimals.
func (c LinkCounts) Link() Link {
	return Link{Precision: round3(c.Precision()), Recall: round3(c.Recall()), F1: round3(c.F1()), ScoredPairs: c.Scored}
}

// ScoreLinks scores written relations as "related" decisions over the
// retrieved pairs in which both events have a story; two events are related
// iff their stories are equal.
func ScoreLinks(items []Item, retrieved []Pair, written map[Pair]bool) Link {
	return CountLinks(items, retrieved, written).Link()
}

// CountLinks counts what ScoreLinks scores, for callers that need the counts
// or the figures unrounded.
func CountLinks(items []Item, retrieved []Pair, written map[Pair]bool) LinkCounts {
	story := make(map[string]string, len(items))
	for _, it := range items {
		story[it.ID] = it.Story
	}
	var c LinkCounts
	for _, p := range retrieved {
		sn, sp := story[p.New], story[p.Prior]
		if sn == "" || sp == "" {
			continue
		}
		c.Add(written[p], sn == sp)
	}
	return c
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
