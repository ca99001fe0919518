package analyzer

// Validation of a language model's reply. Everything here is a pure function
// of the reply text and the call's candidates, so it is tested without a
// model. Problems are phrased for the repair message the model reads
// (prompts.Repair): "relations[2]: event 17 is not a candidate number
// (1..15)", counting items from 0 as JSON paths do.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/relator/relator/events"
)

// parseItems reads the items of a reply's {"relations": [...]} object and
// returns each undecoded, so that one malformed item costs only itself. A
// Markdown code fence around the object is tolerated (see stripFences).
func parseItems(content string) ([]json.RawMessage, error) {
	s := stripFences(content)
	if s == "" {
		return nil, errors.New("reply is empty")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return nil, fmt.Errorf("reply is not a JSON object: %w", err)
	}
	raw, ok := obj["relations"]
	if !ok || isNull(raw) {
		return nil, errors.New(`reply has no "relations" array`)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New(`"relations" is not an array`)
	}
	return items, nil
}

// stripFences returns s without surrounding whitespace and, unless s already
// starts with '{', the inside of its first Markdown code fence: "```json\n{…}\n```"
// gives "{…}", as does the same after a line of prose. The fence's info string
// ("json") is dropped and a missing closing fence is tolerated. Text that
// starts with '{' is taken as it is, so backticks inside its strings never
// cut it.
func stripFences(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		return s
	}
	start := strings.Index(s, "```")
	if start < 0 {
		return s
	}
	body := strings.TrimLeftFunc(s[start+3:], func(r rune) bool {
		return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '+')
	})
	if end := strings.Index(body, "```"); end >= 0 {
		body = body[:end]
	}
	return strings.TrimSpace(body)
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// validateItems checks every item of a reply against the call's k
// candidates, of which those in self are the New Event itself. It returns
// the valid items as relations, in reply order, the number of invalid items,
// and one problem per defect found, each prefixed with its item's path.
//
// An item is invalid if its candidate number, type, confidence or rationale
// is (see checkNumber, checkType, checkConfidence, checkRationale), if its
// candidate is the New Event itself, or if an earlier item already named the
// same candidate: the first occurrence of a candidate is judged on its own
// merits and every later one is invalid.
func validateItems(items []json.RawMessage, k int, self map[int]bool) (rels []Relation, invalid int, problems []string) {
	first := make(map[int]int) // candidate number → index of its first item
	for i, raw := range items {
		rel, errs := checkItem(raw, k)
		if rel.Number != 0 {
			if j, dup := first[rel.Number]; dup {
				errs = append(errs, fmt.Errorf("event %d is listed again (first at relations[%d])", rel.Number, j))
			} else {
				first[rel.Number] = i
			}
			if self[rel.Number] {
				errs = append(errs, fmt.Errorf("event %d is the New Event itself", rel.Number))
			}
		}
		if len(errs) == 0 {
			rels = append(rels, rel)
			continue
		}
		invalid++
		for _, err := range errs {
			problems = append(problems, fmt.Sprintf("relations[%d]: %v", i, err))
		}
	}
	return rels, invalid, problems
}

// checkItem decodes and checks one item on its own. The returned relation's
// Number is set whenever the candidate number is valid, even if something
// else is not, so that duplicates can be told apart.
func checkItem(raw json.RawMessage, k int) (Relation, []error) {
	var it struct {
		Event      any `json:"event"`
		Type       any `json:"type"`
		Confidence any `json:"confidence"`
		Rationale  any `json:"rationale"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return Relation{}, []error{errors.New("is not a JSON object")}
	}
	if err := json.Unmarshal(raw, &it); err != nil {
		return Relation{}, []error{fmt.Errorf("cannot be read: %w", err)}
	}
	var rel Relation
	var errs []error
	n, err := checkNumber(it.Event, k)
	if err != nil {
		errs = append(errs, err)
	} else {
		rel.Number = n
	}
	if rel.Type, err = checkType(it.Type); err != nil {
		errs = append(errs, err)
	}
	if rel.Confidence, err = checkConfidence(it.Confidence); err != nil {
		errs = append(errs, err)
	}
	// A rationale's own "Event N" can only be checked against a valid N.
	rationale, rerrs := checkRationale(it.Rationale, rel.Number, k)
	rel.Rationale = rationale
	errs = append(errs, rerrs...)
	return rel, errs
}

// checkNumber checks a decoded "event" value: an integral JSON number from
// 1 to k.
func checkNumber(v any, k int) (int, error) {
	switch v := v.(type) {
	case nil:
		return 0, errors.New("event is missing")
	case float64:
		if v != math.Trunc(v) {
			return 0, fmt.Errorf("event %s is not an integer", formatNumber(v))
		}
		if v < 1 || v > float64(k) {
			return 0, fmt.Errorf("event %s is not a candidate number (1..%d)", formatNumber(v), k)
		}
		return int(v), nil
	default:
		return 0, fmt.Errorf("event %s is not a number", describe(v))
	}
}

// checkType checks a decoded "type" value: a string naming a type of the
// taxonomy, exactly.
func checkType(v any) (RelationType, error) {
	switch v := v.(type) {
	case nil:
		return "", errors.New("type is missing")
	case string:
		if t := RelationType(v); t.Valid() {
			return t, nil
		}
		return "", fmt.Errorf("type %q is not one of the listed types", v)
	default:
		return "", fmt.Errorf("type %s is not a string", describe(v))
	}
}

// checkConfidence checks a decoded "confidence" value: a JSON number that
// validConfidence accepts.
func checkConfidence(v any) (float64, error) {
	switch v := v.(type) {
	case nil:
		return 0, errors.New("confidence is missing")
	case float64:
		return v, validConfidence(v)
	default:
		return 0, fmt.Errorf("confidence %s is not a number", describe(v))
	}
}

// validConfidence reports whether c is finite and in [0, 1]. Strict JSON
// schemas cannot be relied on for the range (see confidenceSchema), so it is
// checked here.
func validConfidence(c float64) error {
	if math.IsNaN(c) || c < 0 || c > 1 {
		return fmt.Errorf("confidence %s is not between 0 and 1", formatNumber(c))
	}
	return nil
}

// checkRationale checks a decoded "rationale" value: a string that, trimmed
// of surrounding whitespace, is not empty, mentions the item's own "Event
// n", mentions "the New Event" and refers to no "Event N" outside the call's
// candidates 1..k (an event text may have planted a fake "Event 99"; a
// rationale citing it would send a reviewer to an event that does not
// exist). When the item's number is invalid n is 0 and only emptiness is
// checked. It returns the trimmed rationale and every condition it fails.
func checkRationale(v any, n, k int) (string, []error) {
	s, ok := v.(string)
	switch {
	case v == nil:
		return "", []error{errors.New("rationale is missing")}
	case !ok:
		return "", []error{fmt.Errorf("rationale %s is not a string", describe(v))}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []error{errors.New("rationale is empty")}
	}
	if n == 0 {
		return s, nil
	}
	var errs []error
	if refs := eventRefs(s); !slices.Contains(refs, n) {
		own := strconv.Quote("Event " + strconv.Itoa(n))
		if len(refs) > 0 {
			errs = append(errs, fmt.Errorf("rationale refers to %q but not to its own %s", "Event "+strconv.Itoa(refs[0]), own))
		} else {
			errs = append(errs, fmt.Errorf("rationale does not mention its own %s", own))
		}
	}
	if !mentionsNewEvent(s) {
		errs = append(errs, errors.New(`rationale does not mention "the New Event"`))
	}
	for _, r := range eventRefs(s) {
		if r < 1 || r > k {
			errs = append(errs, fmt.Errorf("rationale refers to %q, which is not a candidate (1..%d)", "Event "+strconv.Itoa(r), k))
			break
		}
	}
	return s, errs
}

// eventRefRE matches "Event N" as words, ignoring case: "Event 1" is not
// found in "Event 12" or "Prevent 1".
var eventRefRE = regexp.MustCompile(`(?i)\bevent[\s\p{Zs}]+(\d+)\b`)

// newEventRE matches "New Event" as words, ignoring case.
var newEventRE = regexp.MustCompile(`(?i)\bnew[\s\p{Zs}]+event\b`)

// eventRefs lists the numbers N of every "Event N" in text, in order: the
// words in any case with any whitespace between them, N a whole number, so
// "Event 12" gives 12 and never 1.
func eventRefs(text string) []int {
	var refs []int
	for _, m := range eventRefRE.FindAllStringSubmatch(text, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			refs = append(refs, n)
		}
	}
	return refs
}

// mentionsEvent reports whether text refers to "Event n" (see eventRefs).
func mentionsEvent(text string, n int) bool { return slices.Contains(eventRefs(text), n) }

// mentionsNewEvent reports whether text refers to the New Event ("new
// event" as words, any case).
func mentionsNewEvent(text string) bool { return newEventRE.MatchString(text) }

// selfLinks returns the numbers of the candidates that are the New Event
// itself, by database id or by source id. Retrieval should never offer one;
// a relation to it would link an event to itself.
func selfLinks(newEvent events.Event, candidates []Candidate) map[int]bool {
	self := make(map[int]bool)
	for _, c := range candidates {
		if (c.Event.ID != 0 && c.Event.ID == newEvent.ID) ||
			(c.Event.SourceID != "" && c.Event.SourceID == newEvent.SourceID) {
			self[c.Number] = true
		}
	}
	return self
}

// formatNumber prints a JSON number as the model would have written it:
// 17, 2.5, 1e+21.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// describe shows a decoded JSON value in a problem, shortened.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const limit = 40
	if s := string(b); len([]rune(s)) > limit {
		return string([]rune(s)[:limit-1]) + "…"
	}
	return string(b)
}
