package textfeat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token is one word of a text.
type Token struct {
	// Text is the word lower-cased, without punctuation. Dotted acronyms
	// ("U.S.") are joined ("us"), digit groups ("11,000") too ("11000").
	Text string
	// Surface is the word as written (dots of acronyms removed).
	Surface string
	// Capitalized reports whether the word starts with an upper-case (or
	// title-case) letter.
	Capitalized bool
	// Acronym reports an all-capitals word of two or more letters ("NATO").
	Acronym bool
	// Numeric reports a word made of digits only.
	Numeric bool
	// SentenceStart reports the first word of the text, of a line or after
	// a sentence-ending mark (. ! ? :). Such a word is capitalised by
	// position, not because it is a name.
	SentenceStart bool
	// Joined reports that only spaces or a hyphen separate the word from the
	// previous one (no comma, bracket or other punctuation), so that the two
	// may belong to one phrase.
	Joined bool
	// Possessive reports a word written with a trailing "'s" or "'" that was
	// removed ("Germany's" → "germany").
	Possessive bool
}

// Tokenize splits s into words: maximal runs of letters, digits and marks.
// Hyphens and apostrophes split words; a trailing possessive "'s" is
// dropped. It never returns empty tokens.
func Tokenize(s string) []Token {
	var toks []Token
	sentenceStart := true
	joined := false
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			switch {
			case r == '.' || r == '!' || r == '?' || r == ':' || r == ';' || r == '\n':
				sentenceStart = true
				joined = false
			case r == ' ' || r == '\t' || r == '-' || r == '\u2010' || r == '\u2011':
				// keep joined as is
			default:
				joined = false
			}
			i += size
			continue
		}
		start := i
		word, next, possessive := scanWord(s, i)
		i = next
		if word == "" {
			continue
		}
		tok := makeToken(word)
		tok.SentenceStart = sentenceStart
		tok.Joined = joined && len(toks) > 0 && start > 0
		tok.Possessive = possessive
		toks = append(toks, tok)
		sentenceStart = false
		joined = !possessive
	}
	return toks
}

// Words returns the lower-cased words of s (the Text of its tokens).
func Words(s string) []string {
	toks := Tokenize(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' || r == '\u2018' }

// scanWord reads one word starting at s[i] (a word rune). It joins dotted
// acronyms ("U.S.A.") and digit groups ("11,000", "3.5"), and reports and
// drops a possessive ending. next is the index after the word.
func scanWord(s string, i int) (word string, next int, possessive bool) {
	var b strings.Builder
	dotted := false
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isWordRune(r) {
			b.WriteRune(r)
			i += size
			continue
		}
		// Digit group: 11,000 or 3.5
		if (r == ',' || r == '.') && lastRuneIsDigit(b.String()) {
			if r2, _ := utf8.DecodeRuneInString(s[i+size:]); unicode.IsDigit(r2) {
				i += size
				if r == '.' {
					b.WriteByte('.')
				}
				continue
			}
		}
		// Dotted acronym: a single letter followed by "." and another
		// single letter followed by "." (U.S., U.N.).
		if r == '.' && isDottedAcronymAt(s, i, b.String()) {
			i += size
			dotted = true
			continue
		}
		if r == '.' && dotted {
			// The closing dot of an acronym ("U.S.") does not end a sentence.
			return b.String(), i + size, false
		}
		if isApostrophe(r) {
			rest := s[i+size:]
			r2, size2 := utf8.DecodeRuneInString(rest)
			if (r2 == 's' || r2 == 'S') && !startsWord(rest[size2:]) {
				return b.String(), i + size + size2, true
			}
			if !startsWord(rest) && strings.HasSuffix(strings.ToLower(b.String()), "s") {
				return b.String(), i + size, true // plural possessive: "Legionnaires'"
			}
		}
		break
	}
	return b.String(), i, false
}

func startsWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

func lastRuneIsDigit(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && unicode.IsDigit(r)
}

// isDottedAcronymAt reports whether the "." at s[i] continues an acronym:
// the part read so far is letters only, each one a single letter that was
// followed by a dot, and a single letter and a dot follow.
func isDottedAcronymAt(s string, i int, sofar string) bool {
	if utf8.RuneCountInString(sofar) > 4 {
		return false
	}
	for _, r := range sofar {
		if !unicode.IsUpper(r) {
			return false
		}
	}
	rest := s[i+1:]
	r1, n1 := utf8.DecodeRuneInString(rest)
	if !unicode.IsUpper(r1) {
		return false
	}
	r2, _ := utf8.DecodeRuneInString(rest[n1:])
	return r2 == '.'
}

func makeToken(word string) Token {
	t := Token{Surface: word, Text: strings.ToLower(word)}
	letters, upper, digits := 0, 0, 0
	for _, r := range word {
		switch {
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		case unicode.IsDigit(r):
			digits++
		}
	}
	first, _ := utf8.DecodeRuneInString(word)
	t.Capitalized = unicode.IsUpper(first) || unicode.IsTitle(first)
	t.Acronym = letters >= 2 && upper == letters
	t.Numeric = letters == 0 && digits > 0
	return t
}
