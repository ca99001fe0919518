package analyzer

import (
	"crypto/sha256"
	"math"
	"slices"
	"strings"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/textfeat"
)

// profile is what the offline classifier knows of one event's text: its
// names (actors and entity phrases), the name atoms they are made of, and
// its content stems.
type profile struct {
	names map[string]string  // name key → the name as written
	order []string           // name keys in order of appearance
	atoms map[string]bool    // NameKeys of the content words of names
	terms map[string]bool    // content stems of the text, generic words left out
	words []string           // lower-cased words of the text, in order
	stems []string           // textfeat.Stem of each of words
	cues  map[cueKind]cueHit // cue words found in the text
}

// eventText is the text the offline classifier reads: title, summary and
// content, in that order.
func eventText(e events.Event) string {
	parts := make([]string, 0, 3)
	for _, s := range []string{e.Title, e.Summary, e.Content} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

// nameKey normalises a name for comparison: its words lower-cased and
// reduced by textfeat.NameKey ("Syrian Army" and "Syria army" meet).
func nameKey(name string) string {
	toks := textfeat.Tokenize(name)
	keys := make([]string, 0, len(toks))
	for _, t := range toks {
		if textfeat.IsStopWord(t.Text) && !t.Acronym {
			continue
		}
		keys = append(keys, textfeat.NameKey(t.Text))
	}
	return strings.Join(keys, " ")
}

// specific reports whether a name has a word that is neither a stop word
// nor generic: "Prime Minister" or "September" say nothing about which
// story an event belongs to, "Prime Minister Abe" does.
func specific(name string) bool {
	for _, t := range textfeat.Tokenize(name) {
		if textfeat.IsContent(t) && !textfeat.IsGeneric(t.Text) && !t.Numeric {
			return true
		}
	}
	return false
}

// profileKey is the digest of what newProfile reads of e: its actors'
// names and its text.
func profileKey(e events.Event) [sha256.Size]byte {
	h := sha256.New()
	for _, a := range e.ActorNames() {
		h.Write([]byte(a))
		h.Write([]byte{0})
	}
	h.Write([]byte{1})
	h.Write([]byte(eventText(e)))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// newProfile reads an event's names, terms, words and cues.
func newProfile(e events.Event) profile {
	p := profile{
		names: map[string]string{},
		atoms: map[string]bool{},
		terms: map[string]bool{},
	}
	text := eventText(e)
	addName := func(display string) {
		k := nameKey(display)
		if k == "" || !specific(display) {
			return
		}
		if _, ok := p.names[k]; !ok {
			p.names[k] = display
			p.order = append(p.order, k)
		}
		for _, t := range textfeat.Tokenize(display) {
			if textfeat.IsContent(t) && !t.Numeric && !textfeat.IsGeneric(t.Text) {
				p.atoms[textfeat.NameKey(t.Text)] = true
			}
		}
	}
	for _, a := range e.ActorNames() {
		addName(strings.TrimSpace(a))
	}
	for _, ent := range textfeat.Entities(text) {
		addName(ent.Text)
	}
	for _, t := range textfeat.Tokenize(text) {
		st := textfeat.Stem(t.Text)
		p.words = append(p.words, t.Text)
		p.stems = append(p.stems, st)
		if textfeat.IsContent(t) && !t.Numeric && !textfeat.IsGeneric(t.Text) {
			p.terms[st] = true
		}
		if (t.Capitalized && !t.SentenceStart) || t.Acronym {
			if !textfeat.IsGeneric(t.Text) && textfeat.IsContent(t) {
				p.atoms[textfeat.NameKey(t.Text)] = true
			}
		}
	}
	p.cues = findCues(p.words, p.stems)
	return p
}

// evidence is what links one candidate to the New Event.
type evidence struct {
	sim     float64  // retrieval cosine
	topSim  float64  // the highest cosine among all candidates
	rank    int      // the candidate's number: 1 is the most similar
	days    float64  // how long before the New Event the candidate occurred
	shared  []string // names both mention, as the candidate writes them
	atoms   int      // name atoms both mention
	overlap float64  // shared content stems / the smaller stem set
	dupe    float64  // word-level Jaccard similarity of the two texts
}

// gather collects the evidence linking candidate c (profile candP) to the
// New Event (profile newP); topSim is the best cosine among the candidates.
func gather(newP profile, newEvent events.Event, c Candidate, candP profile, topSim float64) evidence {
	ev := evidence{sim: c.Similarity, topSim: topSim, rank: c.Number}
	ev.days = math.Abs(newEvent.OccurredAt.Sub(c.Event.OccurredAt).Hours()) / 24
	var keys []string
	for _, k := range candP.order {
		if _, ok := newP.names[k]; ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if !subsumed(k, keys) {
			ev.shared = append(ev.shared, candP.names[k])
		}
	}
	for a := range candP.atoms {
		if newP.atoms[a] {
			ev.atoms++
		}
	}
	common := 0
	for t := range candP.terms {
		if newP.terms[t] {
			common++
		}
	}
	if m := min(len(candP.terms), len(newP.terms)); m > 0 {
		ev.overlap = float64(common) / float64(m)
	}
	ev.dupe = jaccard(newP.words, candP.words)
	return ev
}

// subsumed reports whether the words of name key k all occur in another,
// longer key of keys ("saudi" in "saudi arabia", "pope" in "pope francis"),
// so that one name is not counted twice.
func subsumed(k string, keys []string) bool {
	words := strings.Fields(k)
	for _, other := range keys {
		if other == k || len(other) <= len(k) {
			continue
		}
		ow := strings.Fields(other)
		all := true
		for _, w := range words {
			if !slices.Contains(ow, w) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// jaccard is the Jaccard similarity of two word lists taken as sets.
func jaccard(a, b []string) float64 {
	sa, sb := map[string]bool{}, map[string]bool{}
	for _, w := range a {
		sa[w] = true
	}
	for _, w := range b {
		sb[w] = true
	}
	inter := 0
	for w := range sa {
		if sb[w] {
			inter++
		}
	}
	union := len(sa) + len(sb) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}
