package analyzer

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

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
)

// devSet is the story-labelled development set (see its README).
const devSet = "../testdata/wikitimes-2015-09/events.jsonl"

// evalK is the number of candidates retrieved per event.
const evalK = 15

// devEvent is one dev-set event and its story label.
type devEvent struct {
	event events.Event
	story string // "" when the event has none
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
		var raw struct {
			ID         string   `json:"id"`
			OccurredAt string   `json:"occurred_at"`
			Title      *string  `json:"title"`
			Summary    *string  `json:"summary"`
			Actors     []string `json:"actors"`
			Story      *string  `json:"story"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			tb.Fatalf("decode dev set line %d: %v", len(evs)+1, err)
		}
		at, err := time.Parse(time.DateOnly, raw.OccurredAt)
		if err != nil {
			if at, err = time.Parse(time.RFC3339, raw.OccurredAt); err != nil {
				tb.Fatalf("dev set event %s: %v", raw.ID, err)
			}
		}
		e := events.Event{ID: int64(len(evs) + 1), SourceID: raw.ID, OccurredAt: at.UTC()}
		if raw.Title != nil {
			e.Title = *raw.Title
		}
		if raw.Summary != nil {
			e.Summary = *raw.Summary
		}
		for _, a := range raw.Actors {
			e.Actors = append(e.Actors, events.Actor{Name: a})
		}
		d := devEvent{event: e}
		if raw.Story != nil {
			d.story = *raw.Story
		}
		evs = append(evs, d)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read dev set: %v", err)
	}
	// Prior means earlier in (occurred_at, id) order.
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].event, evs[j].event
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		return a.SourceID < b.SourceID
	})
	return evs
}

// retrieval is one New Event with its numbered candidates, retrieved as
// relator retrieves them: exact cosine top-P priors of the offline vectors,
// then embeddings.Rerank to k.
type retrieval struct {
	newIdx     int
	candIdx    []int // dev-set index per candidate, in number order
	candidates []Candidate
}

func retrieveAll(tb testing.TB, evs []devEvent) []retrieval {
	tb.Helper()
	emb := embeddings.NewOffline(embeddings.OfflineOptions{})
	texts := make([]string, len(evs))
	for i, d := range evs {
		e := d.event
		texts[i] = embeddings.Text(embeddings.Document{Title: e.Title, Summary: e.Summary, Content: e.Content, Actors: e.ActorNames()})
	}
	vecs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		tb.Fatalf("embed: %v", err)
	}
	pool := max(4*evalK, 60)
	var out []retrieval
	for i := 1; i < len(evs); i++ {
		ns := make([]embeddings.Neighbor, 0, i)
		for j := 0; j < i; j++ {
			ns = append(ns, embeddings.Neighbor{EventID: int64(j), OccurredAt: evs[j].event.OccurredAt, Similarity: cosine(vecs[i], vecs[j])})
		}
		sort.SliceStable(ns, func(a, b int) bool { return ns[a].Similarity > ns[b].Similarity })
		if len(ns) > pool {
			ns = ns[:pool]
		}
		r := retrieval{newIdx: i}
		for n, nb := range embeddings.Rerank(evs[i].event.OccurredAt, ns, evalK) {
			r.candIdx = append(r.candIdx, int(nb.EventID))
			r.candidates = append(r.candidates, Candidate{Number: n + 1, Event: evs[nb.EventID].event, Similarity: nb.Similarity})
		}
		out = append(out, r)
	}
	return out
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
	return dot / math.Sqrt(na*nb)
}

// linkScore is precision, recall and F1 of "related" decisions over the
// retrieved pairs in which both events have a story, as DESIGN.md's eval
// defines them.
type linkScore struct {
	TP, FP, FN, Scored int
	P, R, F1           float64
	ByType             map[RelationType]int
}

func evalLinks(tb testing.TB, evs []devEvent, rs []retrieval, cl Classifier) linkScore {
	tb.Helper()
	s := linkScore{ByType: map[RelationType]int{}}
	for _, r := range rs {
		res, err := cl.Classify(context.Background(), evs[r.newIdx].event, r.candidates)
		if err != nil {
			tb.Fatalf("Classify: %v", err)
		}
		decided := map[int]bool{}
		for _, rel := range res.Relations {
			decided[rel.Number] = true
			s.ByType[rel.Type]++
		}
		for n, ci := range r.candIdx {
			ns, cs := evs[r.newIdx].story, evs[ci].story
			if ns == "" || cs == "" {
				continue
			}
			s.Scored++
			related := ns == cs
			switch {
			case decided[n+1] && related:
				s.TP++
			case decided[n+1]:
				s.FP++
			case related:
				s.FN++
			}
		}
	}
	return s.finish()
}

// finish computes P, R and F1 from the counts.
func (s linkScore) finish() linkScore {
	if s.TP+s.FP > 0 {
		s.P = float64(s.TP) / float64(s.TP+s.FP)
	}
	if s.TP+s.FN > 0 {
		s.R = float64(s.TP) / float64(s.TP+s.FN)
	}
	if s.P+s.R > 0 {
		s.F1 = 2 * s.P * s.R / (s.P + s.R)
	}
	return s
}

func (s linkScore) String() string {
	return fmt.Sprintf("P=%.3f R=%.3f F1=%.3f (tp=%d fp=%d fn=%d, %d scored pairs)", s.P, s.R, s.F1, s.TP, s.FP, s.FN, s.Scored)
}

// TestOfflineLinkQuality is the offline classifier's quality gate on the dev
// set: over the retrieved top-15 pairs in which both events have a story,
// with a returned relation as a "related" decision, link F1 must reach 0.60
// (a plain similarity threshold over TF-IDF top-15 gets 0.53).
func TestOfflineLinkQuality(t *testing.T) {
	evs := loadDevSet(t)
	rs := retrieveAll(t, evs)
	cl := NewOffline(OfflineOptions{})
	s := evalLinks(t, evs, rs, cl)
	t.Logf("offline classifier %s/%s on %d events: %v", cl.Model(), cl.PromptVersion(), len(evs), s)
	var total int
	for _, n := range s.ByType {
		total += n
	}
	for _, info := range Taxonomy() {
		t.Logf("  %-13s %4d relations (%.0f%%)", info.Type, s.ByType[info.Type], 100*float64(s.ByType[info.Type])/float64(max(total, 1)))
	}
	if s.F1 < 0.60 {
		t.Errorf("link F1 = %.3f, want ≥ 0.60", s.F1)
	}
}
