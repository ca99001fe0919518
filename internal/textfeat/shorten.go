package textfeat

import (
	"strings"
	"unicode/utf8"
)

// Shorten cuts s to at most limit runes for quoting: at the last space that
// leaves room for the "…" it appends, with trailing punctuation dropped, or
// mid-word when the first word alone is too long. s is returned as it is
// when it fits.
func Shorten(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	cut, runes := 0, 0
	for i := range s {
		if runes > limit-1 {
			break
		}
		if s[i] == ' ' {
			cut = i
		}
		runes++
	}
	if cut == 0 {
		return string([]rune(s)[:limit-1]) + "…"
	}
	return strings.TrimRight(s[:cut], ".,;:!? ") + "…"
}
