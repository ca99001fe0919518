package textfeat

import "github.com/kljensen/snowball/english"

// Stem returns the Porter2 (Snowball English) stem of the lower-case word w,
// so that "attacks", "attacked" and "attacking" all become "attack".
//
// It uses github.com/kljensen/snowball, a maintained implementation of the
// published Snowball algorithm that is tested against Snowball's own
// vocabulary lists, rather than a home-grown approximation. Words that are
// not ASCII letters (names in other scripts, numbers) pass through
// unchanged, since English suffix rules mean nothing for them.
func Stem(w string) string {
	if len(w) <= 2 || !isASCIILower(w) {
		return w
	}
	return english.Stem(w, true)
}

func isASCIILower(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// IsContent reports whether t carries meaning: it is an acronym ("US",
// "UN") or a word that is not a stop word.
func IsContent(t Token) bool {
	return t.Acronym || !IsStopWord(t.Text)
}

// Terms returns the stems of the content words of s, in text order.
func Terms(s string) []string {
	var out []string
	for _, t := range Tokenize(s) {
		if IsContent(t) {
			out = append(out, Stem(t.Text))
		}
	}
	return out
}
