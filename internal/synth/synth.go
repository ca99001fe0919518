// Package synth writes deterministic synthetic news events as event JSONL,
// for benchmarks at archive scale: stories that recur over weeks and
// months, near-duplicate reports of one happening, actors shared across
// stories, in time order — the structure that makes a real archive's
// nearest-neighbour search hard, which uniform noise would not have.
package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Options shapes the generated archive.
type Options struct {
	// Events is how many events to write.
	Events int
	// Seed makes the archive: the same seed, the same events.
	Seed uint64
	// Start is the time of the first event. Default 2015-01-01.
	Start time.Time
	// PerDay is how many events a day brings (a busy news desk). Default
	// 100, so 100,000 events span about three years.
	PerDay int
	// IDPrefix starts every id, so that two archives can share a database.
	// Default "syn".
	IDPrefix string
	// DuplicateShare is the share of events that report an earlier event
	// of their story again, in other words. Default 0.1.
	DuplicateShare float64
}

func (o Options) withDefaults() Options {
	if o.Start.IsZero() {
		o.Start = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.PerDay <= 0 {
		o.PerDay = 100
	}
	if o.IDPrefix == "" {
		o.IDPrefix = "syn"
	}
	if o.DuplicateShare == 0 {
		o.DuplicateShare = 0.1
	}
	return o
}

// story is a thread of events about the same actors, place and topic.
type story struct {
	actors []string
	place  string
	topic  topic
	last   string // the last event's summary, for near-duplicates
	seen   int
}

type topic struct {
	verbs, nouns []string
}

// Event is one generated event in the shape of event JSONL.
type Event struct {
	ID         string   `json:"id"`
	OccurredAt string   `json:"occurred_at"`
	Title      string   `json:"title"`
	Summary    string   `json:"summary"`
	Content    string   `json:"content,omitempty"`
	Sources    []string `json:"sources,omitempty"`
	Actors     []string `json:"actors,omitempty"`
	Story      string   `json:"story"`
}

// Generator yields the events of one archive in time order.
type Generator struct {
	opts    Options
	rng     *rand.Rand
	names   []string
	places  []string
	topics  []topic
	stories []*story
	n       int
}

// New returns the generator of the archive opts describe.
func New(opts Options) *Generator {
	opts = opts.withDefaults()
	g := &Generator{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	g.names = g.words(400, 2, 3, true)  // people, parties, organisations
	g.places = g.words(150, 2, 3, true) // countries and cities
	for range 60 {
		g.topics = append(g.topics, topic{verbs: g.words(6, 2, 3, false), nouns: g.words(10, 2, 3, false)})
	}
	return g
}

// syllables make pronounceable, distinct invented words.
const syllables = "ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze zi zo"

func (g *Generator) words(n, minSyl, maxSyl int, capital bool) []string {
	syllables := strings.Fields(syllables)
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range minSyl + g.rng.IntN(maxSyl-minSyl+1) {
			b.WriteString(syllables[g.rng.IntN(len(syllables))])
		}
		w := b.String()
		if seen[w] {
			continue
		}
		seen[w] = true
		if capital {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		out = append(out, w)
	}
	return out
}

// pick returns an element of xs.
func pick[T any](g *Generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// Next returns the next event; ok is false after the last.
func (g *Generator) Next() (Event, bool) {
	if g.n >= g.opts.Events {
		return Event{}, false
	}
	i := g.n
	g.n++
	at := g.opts.Start.Add(time.Duration(i) * 24 * time.Hour / time.Duration(g.opts.PerDay))

	// A new story starts now and then; otherwise an active one goes on,
	// the recent ones more often than old ones (stories recur over months).
	if len(g.stories) == 0 || g.rng.Float64() < 0.08 {
		s := &story{place: pick(g, g.places), topic: pick(g, g.topics)}
		for range 1 + g.rng.IntN(3) {
			s.actors = append(s.actors, pick(g, g.names))
		}
		g.stories = append(g.stories, s)
	}
	k := len(g.stories) - 1 - int(float64(len(g.stories))*g.rng.Float64()*g.rng.Float64()*g.rng.Float64())
	s := g.stories[max(k, 0)]
	storyID := fmt.Sprintf("%s-story-%d", g.opts.IDPrefix, max(k, 0))

	var summary string
	if s.last != "" && g.rng.Float64() < g.opts.DuplicateShare {
		summary = g.perturb(s.last) // the same happening, reported again
	} else {
		summary = g.sentence(s)
		s.last = summary
	}
	s.seen++
	content := g.sentence(s) + " " + g.sentence(s)
	return Event{
		ID:         fmt.Sprintf("%s%07d", g.opts.IDPrefix, i),
		OccurredAt: at.Format(time.RFC3339),
		Title:      strings.ToUpper(summary[:1]) + firstWords(summary[1:], 8),
		Summary:    summary,
		Content:    content,
		Sources:    []string{fmt.Sprintf("https://news.example/%s/%d", strings.ToLower(s.place), i)},
		Actors:     s.actors,
		Story:      storyID,
	}, true
}

func (g *Generator) sentence(s *story) string {
	actor := pick(g, s.actors)
	other := pick(g, g.names) // a passer-by: shared actors across stories
	return fmt.Sprintf("%s %s the %s of %s in %s, %d %s reported, as %s responds.",
		actor, pick(g, s.topic.verbs), pick(g, s.topic.nouns), pick(g, s.topic.nouns), s.place,
		2+g.rng.IntN(500), pick(g, s.topic.nouns), other)
}

// perturb rewords a sentence a little: a number changed, a word dropped.
func (g *Generator) perturb(s string) string {
	w := strings.Fields(s)
	if len(w) > 6 {
		j := 2 + g.rng.IntN(len(w)-4)
		w = append(w[:j], w[j+1:]...)
	}
	return strings.Join(w, " ") + fmt.Sprintf(" Officials put the toll at %d.", g.rng.IntN(900))
}

func firstWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		w = w[:n]
	}
	return strings.Join(w, " ")
}

// Write writes the archive of opts to w as event JSONL.
func Write(w io.Writer, opts Options) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	g := New(opts)
	for {
		ev, ok := g.Next()
		if !ok {
			break
		}
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("write synthetic events: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write synthetic events: %w", err)
	}
	return nil
}
