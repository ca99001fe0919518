package analyzer

import (
	"slices"
	"strings"

	"github.com/relator/relator/internal/textfeat"
)

// cueKind is a family of cue words that hint at a relation type.
type cueKind int

const (
	cueEscalation cueKind = iota
	cueDeEscalation
	cueResponse
	cueContinuation
	cueReversal
	cueIntensify
)

// cueStems lists, per kind, the Porter2 stems of its single cue words, so
// that every inflection counts ("kills", "killed", "killing" → "kill").
// These are general news English, not tuned to any data set.
var cueStems = map[cueKind][]string{
	cueEscalation: {"kill", "attack", "strike", "airstrik", "clash", "bomb",
		"bombard", "shell", "offens", "assault", "raid", "fight", "battl",
		"invad", "invas", "seiz", "captur", "escal", "execut", "massacr",
		"explos", "explod", "wound", "injur", "shoot", "deploy",
		"mobil", "sanction", "threaten", "ambush"},
	cueDeEscalation: {"ceasefir", "truce", "talk", "agreement", "agre",
		"releas", "peac", "negoti", "deal", "accord", "reopen", "eas",
		"lift", "reconcil", "reconcili", "amnesti", "pardon", "dialogu", "calm", "deescal",
		"resolv", "settlement", "diplomat", "summit"},
	cueResponse: {"respond", "respons", "condemn", "deni", "react", "reaction",
		"repli", "retali", "critic", "criticis", "criticiz", "denounc",
		"warn", "urg", "demand", "blame", "accus", "rebuk", "refut"},
	cueContinuation: {"again", "second", "anoth", "continu", "resum",
		"further", "renew", "latest", "ongo", "extend", "third", "repeat"},
	cueReversal: {"cancel", "withdraw", "collaps", "overturn", "reject",
		"revers", "suspend", "abandon", "halt", "scrap", "annul", "revok",
		"backtrack", "postpon", "veto", "resign", "oust", "reinstat", "undo"},
	cueIntensify: {"escal", "intensifi", "expand", "deadliest", "surg",
		"widen", "worsen", "deepen"},
}

// cuePhrases are multi-word cues, lower-case words separated by spaces.
// (Cause cues are phrases of their own: see causePhrases.)
var cuePhrases = map[cueKind][]string{
	cueResponse: {"in response to", "in reaction to"},
}

// isCueWord reports whether the lower-case word w is a cue word of any
// kind.
func isCueWord(w string) bool {
	st := textfeat.Stem(w)
	for _, list := range cueStems {
		for _, c := range list {
			if c == st {
				return true
			}
		}
	}
	return false
}

// cueHit is the first occurrence of a cue kind in a text.
type cueHit struct {
	word string // the cue as written (lower-case)
	at   int    // index of its first word in the text's words
}

// findCues returns the first cue of every kind found in words (the
// lower-cased words of a text, in order, and their stems); a multi-word cue ("in response
// to") takes precedence over the single words of its kind.
func findCues(words, wordStems []string) map[cueKind]cueHit {
	hits := map[cueKind]cueHit{}
	stems := slices.Clone(wordStems)
	for i := 1; i < len(stems); i++ {
		if words[i-1] == "de" && stems[i] == "escal" {
			stems[i] = "deescal" // "de-escalation" is split by the tokenizer
		}
	}
	joined := " " + strings.Join(words, " ") + " "
	for kind, list := range cuePhrases {
		if _, done := hits[kind]; done {
			continue
		}
		for _, ph := range list {
			if i := strings.Index(joined, " "+ph+" "); i >= 0 {
				hits[kind] = cueHit{word: ph, at: strings.Count(joined[:i+1], " ") - 1}
				break
			}
		}
	}
	for kind, list := range cueStems {
		for i, s := range stems {
			if _, done := hits[kind]; done {
				break
			}
			for _, c := range list {
				if s == c {
					hits[kind] = cueHit{word: words[i], at: i}
					break
				}
			}
		}
	}
	return hits
}
