package tokens_test

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/relator/relator/internal/tokens"
)

// pieces are what the generated texts are made of: line breaks of every
// kind, white space, punctuation, contractions, digits, letters, and
// characters outside ASCII, among them a no-break space (\s to the
// tokenizer).
var pieces = []string{"\n", "\n\n", "\r\n", "\r", " ", "  ", "\t", ".", ",", ":", "<", ">", "&", "\"", "'s", "'T",
	"1", "2024", "a", "Event", "event", "The", "é", "Ürümqi", "—", "\u00a0", "\u3000", "日本", "/", "{", "}", "\n ", " \n"}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(60) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// A Counter's count is the tokenizer's count of the whole text, for both
// encodings, whatever the text's lines are made of.
func TestCounterCountsAsTheTokenizer(t *testing.T) {
	sample, err := os.ReadFile("../../testdata/wikitimes-2015-09/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"", "\n", "a\n", "a.\n\nB", "a \n\n B", "x\r\nY", "Event 1:\n  Title: x\n</event>\n<event>"}
	// The sample as prompt-like text: its lines, joined with line breaks.
	lines := strings.Split(strings.ReplaceAll(string(sample), `\n`, "\n"), "\n")
	for i := 0; i+40 < len(lines); i += 40 {
		texts = append(texts, strings.Join(lines[i:i+40], "\n"))
	}
	r := rand.New(rand.NewPCG(7, 11))
	for range 600 {
		texts = append(texts, randomText(r))
	}
	for _, model := range []string{"gpt-4o-mini", "gpt-4"} {
		c, err := tokens.NewCounter(model, 64) // small: lines are forgotten and counted again
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			want, err := tokens.Count(model, text)
			if err != nil {
				t.Fatal(err)
			}
			for pass := range 2 { // counted, then remembered
				if got := c.Count(text); got != want {
					t.Fatalf("%s, pass %d: Count(%q) = %d, the tokenizer says %d", model, pass, text, got, want)
				}
			}
		}
	}
}

func FuzzCounter(f *testing.F) {
	for _, s := range []string{"a.\n\nB", "x \n\ny", "\n\u00a0z", "Title: A\n  Summary: B.\n"} {
		f.Add(s)
	}
	c, err := tokens.NewCounter("gpt-4o", 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		want, err := tokens.Count("gpt-4o", text)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Count(text); got != want {
			t.Fatalf("Count(%q) = %d, the tokenizer says %d", text, got, want)
		}
	})
}

func BenchmarkCounter(b *testing.B) {
	sample, err := os.ReadFile("../../testdata/wikitimes-2015-09/events.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	text := string(sample[:8000])
	text = strings.ReplaceAll(text, "},", "},\n")
	c, err := tokens.NewCounter("gpt-4o", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("counter", func(b *testing.B) {
		for b.Loop() {
			c.Count(text)
		}
	})
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if _, err := tokens.Count("gpt-4o", text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
