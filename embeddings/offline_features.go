package embeddings

import (
	"math"
	"strings"

	"github.com/relator/relator/internal/textfeat"
)

// offlineParams are the weights of the feature kinds. They are fixed per
// OfflineVersion; only tests vary them, to measure alternatives.
type offlineParams struct {
	word    float64 // a content word's stem
	name    float64 // the stem of a capitalised (not sentence-initial) word or acronym
	number  float64 // a number
	short   float64 // factor for words of two characters or less
	bigram  float64 // two consecutive content stems
	entity  float64 // an entity phrase of the text, or an actor name
	actorW  float64 // a word of an actor name (as a name stem)
	nameKey float64 // the NameKey of a capitalised word or actor word
	generic float64 // factor for generic news words (textfeat.IsGeneric)
	char    float64 // total weight of one word's character n-grams
	charN   int     // n of the character n-grams (0: none)
	stem    bool    // stem words (false: lower-cased words as they are)
	logTF   bool    // sublinear term frequency
	signed  bool    // signed hashing
	blocks  bool    // scale each feature kind to unit length before hashing (variant)
	minChar int     // shortest word that gets character n-grams
}

// defaultOfflineParams are the weights of OfflineVersion. They were chosen
// on the dev set from a coarse grid, in the middle of a plateau rather than
// at its best point (offline_variants_test.go records the alternatives).
func defaultOfflineParams() offlineParams {
	return offlineParams{
		word:    1.0,
		name:    2.0,
		number:  0.3,
		short:   0.5,
		bigram:  0.7,
		entity:  0.75,
		actorW:  1.0,
		nameKey: 1.5,
		generic: 0.3,
		char:    2.0,
		charN:   4,
		minChar: 4,
		stem:    true,
		logTF:   true,
		signed:  true,
	}
}

// Feature kinds; each hashes in a namespace of its own.
const (
	kindWord   = 'w'
	kindBigram = 'b'
	kindEntity = 'e'
	kindChar   = 'c'
	kindName   = 'n'
)

// features lists the weighted features of a text in the layout of Text:
// body lines (title, summary, content) and the first line that starts with
// ActorsPrefix, whose "; "-separated names are actors.
func (o *Offline) features(text string) []feature {
	p := o.params
	var feats []feature
	add := func(kind byte, key string, w float64) {
		if w > 0 && key != "" {
			feats = append(feats, feature{hash: hashKey(kind, key), weight: w, kind: kind})
		}
	}
	var body strings.Builder
	actorsSeen := false
	for _, line := range strings.Split(text, "\n") {
		if names, ok := strings.CutPrefix(line, ActorsPrefix); ok && !actorsSeen {
			actorsSeen = true
			for _, name := range strings.Split(names, ";") {
				o.actorFeatures(strings.TrimSpace(name), add)
			}
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
		o.lineFeatures(line, add)
	}
	if p.entity > 0 {
		for _, e := range textfeat.Entities(body.String()) {
			add(kindEntity, e.Key, p.entity)
		}
	}
	return feats
}

// term is the key of a word: its stem, or the word itself in the unstemmed
// variant.
func (o *Offline) term(t textfeat.Token) string {
	if o.params.stem {
		return textfeat.Stem(t.Text)
	}
	return t.Text
}

// lineFeatures adds the word, bigram and character features of one line of
// body text.
func (o *Offline) lineFeatures(line string, add func(byte, string, float64)) {
	p := o.params
	prev := ""
	for _, t := range textfeat.Tokenize(line) {
		if t.SentenceStart {
			prev = ""
		}
		if !textfeat.IsContent(t) {
			prev = ""
			continue
		}
		s := o.term(t)
		w := p.word
		switch {
		case t.Numeric:
			w = p.number
		case t.Acronym || (t.Capitalized && !t.SentenceStart):
			w = p.name
		}
		if len([]rune(t.Text)) <= 2 && !t.Acronym {
			w *= p.short
		}
		if textfeat.IsGeneric(t.Text) {
			w *= p.generic
		}
		add(kindWord, s, w)
		if (t.Capitalized || t.Acronym) && !t.Numeric {
			add(kindName, textfeat.NameKey(t.Text), p.nameKey)
		}
		if p.bigram > 0 && prev != "" {
			add(kindBigram, prev+" "+s, p.bigram)
		}
		prev = s
		if !t.Numeric {
			o.charFeatures(t.Text, add)
		}
	}
}

// actorFeatures adds the features of one actor name: the whole name as an
// entity (in the namespace of the text's entity phrases, so an actor matches
// the same name written in another event's text) and its words as names.
func (o *Offline) actorFeatures(name string, add func(byte, string, float64)) {
	p := o.params
	toks := textfeat.Tokenize(name)
	keys := make([]string, 0, len(toks))
	for _, t := range toks {
		keys = append(keys, t.Text)
		if !textfeat.IsContent(t) {
			continue
		}
		add(kindWord, o.term(t), p.actorW)
		add(kindName, textfeat.NameKey(t.Text), p.nameKey)
		if !t.Numeric {
			o.charFeatures(t.Text, add)
		}
	}
	add(kindEntity, strings.Join(keys, " "), p.entity)
}

// charFeatures adds the character n-grams of a word, marked at its edges,
// so that morphological variants stemming misses ("Syria", "Syrian") and
// spellings that differ by a letter share most of their features. A word's
// n-grams together weigh p.char (the root of the sum of their squares).
func (o *Offline) charFeatures(word string, add func(byte, string, float64)) {
	p := o.params
	if p.char <= 0 || p.charN <= 0 {
		return
	}
	marked := "<" + word + ">"
	// starts holds the byte offset of every rune, and len(marked) last.
	starts := make([]int, 0, len(marked)+1)
	for i := range marked {
		starts = append(starts, i)
	}
	runes := len(starts)
	starts = append(starts, len(marked))
	if runes-2 < p.minChar {
		return
	}
	n := runes - p.charN + 1
	if n <= 0 {
		return
	}
	w := p.char / math.Sqrt(float64(n))
	for i := 0; i < n; i++ {
		add(kindChar, marked[starts[i]:starts[i+p.charN]], w)
	}
}
