package analyzer

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/textfeat"
)

// quoteLimit is the longest quotation of an event, in characters.
const quoteLimit = 160

// rationale writes why candidate n is related to the New Event as type t, in
// the style of the seed's rationales: what Event n reports, how the New
// Event relates to it (the sentence varies by type), the names both
// involve, and what the link indicates. Both events are quoted from their
// own text, shortened at a word boundary.
func rationale(n int, t RelationType, cue string, ev evidence, newEvent, cand events.Event) string {
	c, x := quote(cand), quote(newEvent)
	c, x = stop(c), stop(x)
	var b strings.Builder
	fmt.Fprintf(&b, "Event %d reports that %s ", n, c)
	switch t {
	case Duplicate:
		fmt.Fprintf(&b, "The New Event reports the same happening %s: %s ", ago(ev.days), x)
	case Causes:
		fmt.Fprintf(&b, "The New Event, %s, follows from it: %s ", ago(ev.days), x)
	case Escalation:
		fmt.Fprintf(&b, "%s, the New Event raises the stakes: %s ", capitalize(ago(ev.days)), x)
	case DeEscalation:
		fmt.Fprintf(&b, "%s, the New Event points toward easing: %s ", capitalize(ago(ev.days)), x)
	case Reversal:
		fmt.Fprintf(&b, "%s, the New Event turns against it: %s ", capitalize(ago(ev.days)), x)
	case Response:
		fmt.Fprintf(&b, "The New Event, %s, is a reaction to it: %s ", ago(ev.days), x)
	case Parallel:
		fmt.Fprintf(&b, "Alongside it, %s, the New Event reports that %s ", ago(ev.days), x)
	default: // Continuation
		fmt.Fprintf(&b, "The New Event carries the same sequence forward %s: %s ", ago(ev.days), x)
	}
	if len(ev.shared) > 0 {
		fmt.Fprintf(&b, "Both involve %s. ", listNames(ev.shared, 3))
	}
	b.WriteString(indication(n, t, cue))
	return b.String()
}

// indication is the closing sentence: what the link means, citing the cue
// word that decided the type when there is one.
func indication(n int, t RelationType, cue string) string {
	cited := ""
	if cue != "" {
		cited = fmt.Sprintf(" (%q)", cue)
	}
	switch t {
	case Duplicate:
		return fmt.Sprintf("Event %d and the New Event describe the same happening.", n)
	case Causes:
		return fmt.Sprintf("The New Event names what Event %d reports as its cause%s.", n, cited)
	case Escalation:
		return fmt.Sprintf("The New Event intensifies the situation of Event %d%s.", n, cited)
	case DeEscalation:
		return fmt.Sprintf("The New Event eases the tension of Event %d%s.", n, cited)
	case Reversal:
		return fmt.Sprintf("The New Event undoes or contradicts what Event %d established%s.", n, cited)
	case Response:
		return fmt.Sprintf("The New Event is an actor's reaction to Event %d%s.", n, cited)
	case Parallel:
		return fmt.Sprintf("Event %d and the New Event are related developments on separate tracks.", n)
	default:
		if cue != "" {
			return fmt.Sprintf("The New Event is the next step of the sequence of Event %d%s.", n, cited)
		}
		return fmt.Sprintf("Event %d and the New Event are steps of the same ongoing sequence.", n)
	}
}

// ago says when the New Event happened relative to the candidate.
func ago(days float64) string {
	switch d := int(math.Round(days)); {
	case d == 0:
		return "the same day"
	case d == 1:
		return "a day later"
	default:
		return fmt.Sprintf("%d days later", d)
	}
}

// quote is an event's text for a rationale: its headline, or the first
// sentence of its summary, shortened at a word boundary to quoteLimit
// characters, without a final full stop, and with a leading article or
// other function word lower-cased so that it reads inside a sentence.
func quote(e events.Event) string {
	s := strings.Join(strings.Fields(e.Headline()), " ")
	if s == "" {
		s = strings.Join(strings.Fields(e.Content), " ")
	}
	if s == "" {
		return "an event without title or summary"
	}
	if i := sentenceEnd(s); i > 0 {
		s = s[:i]
	}
	s = textfeat.Shorten(s, quoteLimit)
	s = strings.TrimRight(s, ".!?;:, ")
	return lowerFirst(s)
}

// stop ends a quotation as a sentence: with a full stop, unless it was cut
// and ends with an ellipsis already.
func stop(s string) string {
	if strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// sentenceEnd returns the index just after the first sentence of s, or -1.
// A full stop after a single capital ("U.S.") does not end a sentence.
func sentenceEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && s[i] != '!' && s[i] != '?' {
			continue
		}
		if i+1 < len(s) && s[i+1] != ' ' {
			continue
		}
		if s[i] == '.' && i >= 1 && unicode.IsUpper(rune(s[i-1])) && (i < 2 || !unicode.IsLetter(rune(s[i-2]))) {
			continue
		}
		if i+1 < len(s) {
			return i + 1
		}
	}
	return -1
}

// lowerFirst lower-cases the first letter of s when its first word is
// plainly not a name, so that the quotation reads inside a sentence ("Event
// 2 reports that the UN …", "… that five soldiers …"): a function word, or
// a generic or cue word not followed by a capitalised word ("President
// Obama" stays). Anything else keeps its capital: a wrongly capitalised
// word reads better than a lower-cased name.
func lowerFirst(s string) string {
	first, rest, _ := strings.Cut(s, " ")
	if first == "" || isAllUpper(first) {
		return s
	}
	lw := strings.ToLower(first)
	plain := textfeat.IsStopWord(lw) || lw == "following"
	if !plain && (textfeat.IsGeneric(lw) || isCueWord(lw)) {
		next, _ := utf8.DecodeRuneInString(rest)
		plain = !unicode.IsUpper(next)
	}
	if !plain {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[size:]
}

func isAllUpper(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
			if !unicode.IsUpper(r) {
				return false
			}
		}
	}
	return letters > 1
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// listNames joins up to limit names as "A", "A and B" or "A, B and C".
func listNames(names []string, limit int) string {
	if len(names) > limit {
		names = names[:limit]
	}
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}
