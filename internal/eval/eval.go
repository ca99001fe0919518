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

// ScoreRetrieval computes recall@k and hit@k. A query is an item with a
// story and at least one related prior (same story, earlier in
// (occurred_at, id) order); retrieved maps an id to its retrieved priors.
// recall@k = Σ|top-k ∩ related priors| / Σ min(k, |related priors|).
func ScoreRetrieval(items []Item, retrieved map[string][]string, k int) Retrieval {
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
	var r Retrieval
	var hits, possible, hitQueries int
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
		r.Queries++
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
		hits += h
		possible += min(k, priors)
		if h > 0 {
			hitQueries++
		}
	}
	if r.Queries > 0 {
		r.RecallAtK = round3(float64(hits) / float64(possible))
		r.HitAtK = round3(float64(hitQueries) / float64(r.Queries))
	}
	return r
}

// ScoreLinks scores written relations as "related" decisions over the
// retrieved pairs in which both events have a story; two events are related
// iff their stories are equal.
func ScoreLinks(items []Item, retrieved []Pair, written map[Pair]bool) Link {
	story := make(map[string]string, len(items))
	for _, it := range items {
		story[it.ID] = it.Story
	}
	var tp, fp, fn, scored int
	for _, p := range retrieved {
		sn, sp := story[p.New], story[p.Prior]
		if sn == "" || sp == "" {
			continue
		}
		scored++
		related, said := sn == sp, written[p]
		switch {
		case said && related:
			tp++
		case said && !related:
			fp++
		case !said && related:
			fn++
		}
	}
	l := Link{ScoredPairs: scored}
	if tp+fp > 0 {
		l.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		l.Recall = float64(tp) / float64(tp+fn)
	}
	if l.Precision+l.Recall > 0 {
		l.F1 = 2 * l.Precision * l.Recall / (l.Precision + l.Recall)
	}
	l.Precision, l.Recall, l.F1 = round3(l.Precision), round3(l.Recall), round3(l.F1)
	return l
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
