package analyzer

import (
	"strings"

	"github.com/relator/relator/internal/textfeat"
)

// isDuplicate reports the same happening reported twice: two events at most
// a day apart whose vectors are nearly the same, or close, written in
// mostly the same words and naming the same actors or places. (Wording
// alone is not enough: "a car bomb kills seven in Baghdad" and "a car bomb
// kills nine in Kabul" share most words.)
func isDuplicate(ev evidence) bool {
	if ev.days > 1 {
		return false
	}
	return ev.sim >= 0.8 || (ev.sim >= 0.6 && ev.dupe >= 0.6 && len(ev.shared) > 0)
}

// relationType picks the type of a related candidate, and the cue word that
// decided it ("" when no cue did). The rules are tried in order:
//
//  1. duplicate: see isDuplicate;
//  2. causes: the New Event names a cause ("after", "following", "due to",
//     …) and the words after that cue are the candidate's own;
//  3. reversal: the New Event cancels, rejects, withdraws, overturns, …
//     and the words around that cue are the candidate's own;
//  4. response: the New Event condemns, denies, responds, reacts, … and
//     the words around that cue are the candidate's own;
//  5. de_escalation: the New Event has a ceasefire, talks, an agreement, a
//     release, … that the candidate does not have;
//  6. escalation: the New Event has killing, attacks, strikes, clashes, …
//     and the candidate does not, or the New Event says it intensifies;
//  7. continuation: the New Event says "again", "another", "continues",
//     "resumes", …, or its words overlap the candidate's (the same kind of
//     happening);
//  8. parallel: otherwise — related through shared names, but a different
//     kind of happening.
func relationType(ev evidence, newP, candP profile) (RelationType, string) {
	if isDuplicate(ev) {
		return Duplicate, ""
	}
	if cue, ok := causeCue(newP, candP); ok {
		return Causes, cue
	}
	if h, ok := newP.cues[cueReversal]; ok && aimsAt(h, newP, candP) {
		return Reversal, h.word
	}
	if h, ok := newP.cues[cueResponse]; ok && aimsAt(h, newP, candP) {
		return Response, h.word
	}
	if h, ok := newP.cues[cueDeEscalation]; ok {
		if _, prior := candP.cues[cueDeEscalation]; !prior {
			return DeEscalation, h.word
		}
	}
	if h, ok := newP.cues[cueEscalation]; ok {
		_, prior := candP.cues[cueEscalation]
		if i, more := newP.cues[cueIntensify]; more {
			return Escalation, i.word
		}
		if !prior {
			return Escalation, h.word
		}
	}
	if h, ok := newP.cues[cueContinuation]; ok {
		return Continuation, h.word
	}
	if ev.overlap >= sameKindOverlap || ev.sim >= sameKindSimilarity {
		return Continuation, ""
	}
	return Parallel, ""
}

// Two events whose content words overlap this much (shared stems over the
// smaller set), or whose vectors are this close, report the same kind of
// happening: a continuation rather than a parallel development.
const (
	sameKindOverlap    = 0.2
	sameKindSimilarity = 0.3
)

// causeWindow is how many words after a cause cue may name the cause.
const causeWindow = 12

// aimWindow is how many words before and after a response or reversal cue
// may name what it responds to or reverses.
const aimWindow = 6

// aimsAt reports whether the words around cue h in the New Event include
// a content word of the candidate ("condemns the attack", "rejects the
// bailout deal"): the reaction or reversal is then about what the
// candidate reports, not about something else. Names do not count: the
// two events share names anyway, or they would not be related.
func aimsAt(h cueHit, newP, candP profile) bool {
	lo, hi := max(0, h.at-aimWindow), min(len(newP.words), h.at+aimWindow+1)
	for i, w := range newP.words[lo:hi] {
		if lo+i == h.at || textfeat.IsStopWord(w) || textfeat.IsGeneric(w) {
			continue
		}
		if candP.terms[newP.stems[lo+i]] && !candP.atoms[textfeat.NameKey(w)] {
			return true
		}
	}
	return false
}

// causeCue finds a cause cue in the New Event ("after", "following", "due
// to", "because of", "amid", …) followed within causeWindow words by at
// least two words of the candidate (its content stems or names): the New
// Event then says it happened because of what the candidate reports.
func causeCue(newP, candP profile) (string, bool) {
	for i := 0; i < len(newP.words); i++ {
		cue, n := causeAt(newP.words, i)
		if n == 0 {
			continue
		}
		matches := 0
		end := min(len(newP.words), i+n+causeWindow)
		for j := i + n; j < end; j++ {
			w := newP.words[j]
			if textfeat.IsStopWord(w) || textfeat.IsGeneric(w) {
				continue
			}
			if candP.terms[newP.stems[j]] || candP.atoms[textfeat.NameKey(w)] {
				matches++
			}
		}
		if matches >= 2 {
			return cue, true
		}
	}
	return "", false
}

// causeAt reports the cause cue that starts at words[i] and how many words
// it spans (0: none).
func causeAt(words []string, i int) (string, int) {
	for _, ph := range causePhrases {
		if hasPhraseAt(words, i, ph) {
			return joinWords(ph), len(ph)
		}
	}
	return "", 0
}

// causePhrases introduce a cause; single words only when they open a
// clause ("after the attack", "following the decision").
var causePhrases = [][]string{
	{"due", "to"}, {"because", "of"}, {"as", "a", "result", "of"},
	{"in", "the", "wake", "of"}, {"caused", "by"}, {"prompted", "by"},
	{"triggered", "by"}, {"after"}, {"following"},
	{"amid"},
}

func hasPhraseAt(words []string, i int, ph []string) bool {
	if i+len(ph) > len(words) {
		return false
	}
	for j, w := range ph {
		if words[i+j] != w {
			return false
		}
	}
	return true
}

func joinWords(ws []string) string { return strings.Join(ws, " ") }
