package textfeat

import "strings"

// Entity is a named-entity-like phrase: a run of capitalised words such as
// "Islamic State of Iraq" or "Pope Francis".
type Entity struct {
	// Text is the phrase as written, words separated by single spaces.
	Text string
	// Key is the phrase lower-cased, the form to compare entities by.
	Key string
	// Words is the number of capitalised words in the phrase.
	Words int
}

// connectors may join two capitalised words inside one name ("Bank of
// England", "Otto von Bismarck", "Abu Bakr al Baghdadi").
var connectors = setOf("of", "de", "del", "della", "di", "da", "do", "dos",
	"du", "la", "le", "les", "van", "von", "der", "den", "al", "el", "bin",
	"ibn", "y")

// Entities returns the named-entity-like phrases of s in text order, each
// once (by Key). A phrase is a run of capitalised words that only spaces or
// hyphens separate, possibly joined by lower-case connectors ("of", "de",
// …). Capitalised stop words at the start of a run ("The United Nations")
// are dropped, and so is a single word whose only claim to a capital is
// that it starts a sentence ("Authorities in Hungary" yields only
// "Hungary"), unless it is an acronym. Lines written in title case, where
// capitals say nothing about names, yield no entities.
func Entities(s string) []Entity {
	var out []Entity
	seen := map[string]bool{}
	for _, line := range strings.Split(s, "\n") {
		toks := Tokenize(line)
		if isTitleCase(toks) {
			continue
		}
		for _, e := range entitiesOf(toks) {
			if !seen[e.Key] {
				seen[e.Key] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// isTitleCase reports a line of four or more content words that are all
// capitalised, as in the headline "Army Retakes Key Town". A sentence, even
// one full of names, has a lower-case verb or noun somewhere.
func isTitleCase(toks []Token) bool {
	content, capped := 0, 0
	for _, t := range toks {
		if t.Numeric || IsStopWord(t.Text) {
			continue
		}
		content++
		if t.Capitalized {
			capped++
		}
	}
	return content >= 4 && capped == content
}

// isConnector reports whether the lower-case word w may continue a name
// whose last word so far is prev: a connector after a capitalised word, or
// "the" after "of" ("Islamic State of the Levant").
func isConnector(w string, prev Token) bool {
	if prev.Capitalized {
		_, ok := connectors[w]
		return ok
	}
	return w == "the" && prev.Text == "of"
}

func entitiesOf(toks []Token) []Entity {
	var out []Entity
	var run []Token // capitalised words and connectors of the current run
	flush := func() {
		// Connectors may not end a run.
		for len(run) > 0 && !run[len(run)-1].Capitalized {
			run = run[:len(run)-1]
		}
		// Capitalised stop words may not start one.
		for len(run) > 0 && run[0].Capitalized && !run[0].Acronym && IsStopWord(run[0].Text) {
			run = run[1:]
		}
		for len(run) > 0 && !run[0].Capitalized {
			run = run[1:]
		}
		if len(run) == 0 {
			return
		}
		words := 0
		for _, t := range run {
			if t.Capitalized {
				words++
			}
		}
		if len(run) == 1 && run[0].SentenceStart && !run[0].Acronym && !run[0].Possessive {
			run = run[:0]
			return
		}
		surf := make([]string, len(run))
		keys := make([]string, len(run))
		for i, t := range run {
			surf[i] = t.Surface
			keys[i] = t.Text
		}
		out = append(out, Entity{Text: strings.Join(surf, " "), Key: strings.Join(keys, " "), Words: words})
		run = run[:0]
	}
	for _, t := range toks {
		switch {
		case t.Capitalized && !t.Numeric:
			if len(run) > 0 && !t.Joined {
				flush()
			}
			run = append(run, t)
		case len(run) > 0 && t.Joined && isConnector(t.Text, run[len(run)-1]):
			run = append(run, t)
		default:
			flush()
		}
		if t.Possessive {
			flush()
		}
	}
	flush()
	return out
}
