package tokens

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/pkoukk/tiktoken-go"
)

// DefaultCounterLines is how many distinct lines a Counter remembers by
// default: a prompt is a few dozen lines, and a prior event is shown as a
// candidate to many later events, so a few thousand lines cover the
// candidates a pass keeps meeting.
const DefaultCounterLines = 8192

// Counter counts text in one model's tokens, as Count does, but remembers
// what it counted line by line: prompts are made of the same candidate
// lines again and again, and tokenizing is most of what rendering and
// fitting a prompt costs (tiktoken's pre-tokenizer is a backtracking
// regular expression). It is safe for concurrent use.
//
// The count is exact, not an estimate: text is split only where the
// tokenizer itself always splits — after a run of line breaks, before a
// character that is neither white space nor a slash (no piece of cl100k_base's or
// o200k_base's pre-tokenizer spans such a place) — so the counts of the
// parts add up to the count of the whole.
type Counter struct {
	enc   *tiktoken.Tiktoken
	lines *lru.Cache[string, int]
}

// NewCounter returns a Counter for model's encoding (see EncodingFor) that
// remembers up to lines lines (DefaultCounterLines when lines ≤ 0).
func NewCounter(model string, lines int) (*Counter, error) {
	enc, err := ForModel(model)
	if err != nil {
		return nil, err
	}
	if lines <= 0 {
		lines = DefaultCounterLines
	}
	cache, err := lru.New[string, int](lines)
	if err != nil {
		return nil, fmt.Errorf("tokens: counter: %w", err)
	}
	return &Counter{enc: enc, lines: cache}, nil
}

// Count returns how many tokens text is, as Count(model, text) does.
func (c *Counter) Count(text string) int {
	n := 0
	for part := range parts(text) {
		if m, ok := c.lines.Get(part); ok {
			n += m
			continue
		}
		m := len(c.enc.EncodeOrdinary(part))
		c.lines.Add(part, m)
		n += m
	}
	return n
}

// parts yields text cut after every run of line breaks that is followed by
// a character other than white space or a slash, the places where the
// pre-tokenizers of cl100k_base and o200k_base always end a piece: their
// patterns for letters, numbers and contractions never include a line
// break, those for punctuation end with the line breaks (and, in o200k,
// slashes) that follow it, and those for white space only ever hold white
// space.
func parts(text string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 1; i < len(text); i++ {
			if (text[i-1] == '\n' || text[i-1] == '\r') && !isSpace(text[i]) {
				if !yield(text[start:i]) {
					return
				}
				start = i
			}
		}
		if start < len(text) {
			yield(text[start:])
		}
	}
}

// isSpace is whether no cut may be made before b: it starts a character
// the pre-tokenizers may take for white space (\s): ASCII white space, or
// any multi-byte character, which may be one of Unicode's spaces; or it is
// a slash, which o200k_base's pattern for punctuation takes along with the
// line breaks after it ("{\n/" is one piece).
func isSpace(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\r', '\v', '\f', '/':
		return true
	}
	return b >= 0x80
}
