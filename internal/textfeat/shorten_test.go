package textfeat

import (
	"testing"
	"unicode/utf8"
)

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"Short enough.", 20, "Short enough."},
		{"Hungary begins building a fence along its border with Serbia to keep migrants out.", 60,
			"Hungary begins building a fence along its border with…"},
		{"Talks stall, then resume; officials say", 24, "Talks stall, then…"},
		{"Supercalifragilistic words", 10, "Supercali…"},
		{"Ménage à trois à Genève aujourd'hui", 20, "Ménage à trois à…"},
	} {
		got := Shorten(tc.in, tc.limit)
		if got != tc.want || utf8.RuneCountInString(got) > tc.limit {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
