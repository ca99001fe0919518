package analyzer

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/events"
)

func TestMentionsEvent(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want bool
	}{
		{"Event 1 reports talks.", 1, true},
		{"Event 12 reports talks.", 1, false}, // word boundary after the number
		{"Event 12 reports talks.", 12, true},
		{"Event 1.", 1, true},
		{"Event 1's talks", 1, true},
		{"(Event 1)", 1, true},
		{"as in event 1, the", 1, true},
		{"EVENT  3 and", 3, true},
		{"Event\u00a03 reports", 3, true}, // no-break space
		{"Event 3 and Event 1 both", 1, true},
		{"Prevent 1 from", 1, false}, // word boundary before "event"
		{"Event 1a", 1, false},
		{"Events 1 and 2", 1, false},
		{"Event one", 1, false},
		{"Event1 reports", 1, false},
		{"the New Event", 1, false},
		{"", 1, false},
	} {
		if got := mentionsEvent(tc.text, tc.n); got != tc.want {
			t.Errorf("mentionsEvent(%q, %d) = %v; want %v", tc.text, tc.n, got, tc.want)
		}
	}
}

func TestEventRefs(t *testing.T) {
	got := eventRefs("Event 14 led to the New Event, like Event 3 and event 140; not Event 2x or Prevent 5.")
	if want := []int{14, 3, 140}; !reflect.DeepEqual(got, want) {
		t.Fatalf("eventRefs = %v; want %v", got, want)
	}
}

func TestMentionsNewEvent(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"described in the New Event.", true},
		{"the new event's outcome", true},
		{"THE NEW EVENT", true},
		{"New\nEvent", true},
		{"the New Events", false},
		{"a renew event", false},
		{"the NewEvent", false},
		{"the new development", false},
	} {
		if got := mentionsNewEvent(tc.text); got != tc.want {
			t.Errorf("mentionsNewEvent(%q) = %v; want %v", tc.text, got, tc.want)
		}
	}
}

func TestValidConfidence(t *testing.T) {
	for _, c := range []float64{0, 0.5, 1} {
		if err := validConfidence(c); err != nil {
			t.Errorf("validConfidence(%v) = %v; want nil", c, err)
		}
	}
	for c, want := range map[float64]string{
		-0.01:       "confidence -0.01 is not between 0 and 1",
		1.01:        "confidence 1.01 is not between 0 and 1",
		85:          "confidence 85 is not between 0 and 1",
		math.Inf(1): "confidence +Inf is not between 0 and 1",
	} {
		if err := validConfidence(c); err == nil || err.Error() != want {
			t.Errorf("validConfidence(%v) = %v; want %q", c, err, want)
		}
	}
	if validConfidence(math.NaN()) == nil || validConfidence(math.Inf(-1)) == nil {
		t.Error("NaN and -Inf must be invalid")
	}
}

func TestCheckNumber(t *testing.T) {
	for _, tc := range []struct {
		v       any
		want    int
		wantErr string
	}{
		{1.0, 1, ""},
		{15.0, 15, ""},
		{0.0, 0, "event 0 is not a candidate number (1..15)"},
		{16.0, 0, "event 16 is not a candidate number (1..15)"},
		{-3.0, 0, "event -3 is not a candidate number (1..15)"},
		{2.5, 0, "event 2.5 is not an integer"},
		{1e21, 0, "event 1e+21 is not a candidate number (1..15)"},
		{"3", 0, `event "3" is not a number`},
		{true, 0, "event true is not a number"},
		{nil, 0, "event is missing"},
	} {
		got, err := checkNumber(tc.v, 15)
		if got != tc.want || errText(err) != tc.wantErr {
			t.Errorf("checkNumber(%#v, 15) = %d, %v; want %d, %q", tc.v, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheckType(t *testing.T) {
	for _, info := range Taxonomy() {
		if got, err := checkType(string(info.Type)); got != info.Type || err != nil {
			t.Errorf("checkType(%q) = %q, %v", info.Type, got, err)
		}
	}
	for v, want := range map[any]string{
		"related":      `type "related" is not one of the listed types`,
		"Continuation": `type "Continuation" is not one of the listed types`,
		" causes":      `type " causes" is not one of the listed types`,
		"":             `type "" is not one of the listed types`,
		3.0:            "type 3 is not a string",
	} {
		if got, err := checkType(v); got != "" || errText(err) != want {
			t.Errorf("checkType(%#v) = %q, %v; want %q", v, got, err, want)
		}
	}
	if _, err := checkType(nil); errText(err) != "type is missing" {
		t.Errorf("checkType(nil) = %v", err)
	}
}

func TestCheckConfidence(t *testing.T) {
	for _, tc := range []struct {
		v       any
		want    float64
		wantErr string
	}{
		{0.85, 0.85, ""},
		{1.0, 1, ""},
		{1.5, 1.5, "confidence 1.5 is not between 0 and 1"},
		{"0.8", 0, `confidence "0.8" is not a number`},
		{nil, 0, "confidence is missing"},
	} {
		got, err := checkConfidence(tc.v)
		if got != tc.want || errText(err) != tc.wantErr {
			t.Errorf("checkConfidence(%#v) = %v, %v; want %v, %q", tc.v, got, err, tc.want, tc.wantErr)
		}
	}
}

// A rationale may cite other candidates, never an "Event N" the call did
// not show: event text can plant a fake "Event 99" block.
func TestCheckRationaleRefusesEventsOutsideTheCall(t *testing.T) {
	for _, tc := range []struct {
		v       string
		n, k    int
		wantErr string
	}{
		{"Event 2 reports talks, as did Event 3. They enabled the New Event.", 2, 3, ""},
		{"Event 2 reports talks, as Event 99 said. They enabled the New Event.", 2, 3, `rationale refers to "Event 99", which is not a candidate (1..3)`},
		{"Event 1 reports talks; Event 4 followed. The New Event continues them.", 1, 3, `rationale refers to "Event 4", which is not a candidate (1..3)`},
		{"Event 1 reports talks after Event 0. The New Event continues them.", 1, 3, `rationale refers to "Event 0", which is not a candidate (1..3)`},
	} {
		_, errs := checkRationale(tc.v, tc.n, tc.k)
		var texts []string
		for _, err := range errs {
			texts = append(texts, err.Error())
		}
		if strings.Join(texts, "|") != tc.wantErr {
			t.Errorf("checkRationale(%q, %d, %d): %q; want %q", tc.v, tc.n, tc.k, texts, tc.wantErr)
		}
	}
}

func TestCheckRationale(t *testing.T) {
	for _, tc := range []struct {
		v       any
		n       int
		want    string
		wantErr string // the errors joined by "|"
	}{
		{"  Event 1 reports talks. It enabled the New Event.\n", 1, "Event 1 reports talks. It enabled the New Event.", ""},
		{"The New Event follows event 7 directly.", 7, "The New Event follows event 7 directly.", ""},
		{"Event 12 reports talks that enabled the New Event.", 1, "Event 12 reports talks that enabled the New Event.",
			`rationale refers to "Event 12" but not to its own "Event 1"`},
		{"Event 2 reports talks. They enabled the New Event.", 1, "Event 2 reports talks. They enabled the New Event.",
			`rationale refers to "Event 2" but not to its own "Event 1"`},
		{"The talks enabled the New Event.", 4, "The talks enabled the New Event.",
			`rationale does not mention its own "Event 4"`},
		{"Event 4 reports talks that enabled the later meeting.", 4, "Event 4 reports talks that enabled the later meeting.",
			`rationale does not mention "the New Event"`},
		{"The talks enabled the meeting.", 4, "The talks enabled the meeting.",
			`rationale does not mention its own "Event 4"|rationale does not mention "the New Event"`},
		{"Event 14 reports talks.", 4, "Event 14 reports talks.",
			`rationale refers to "Event 14" but not to its own "Event 4"|rationale does not mention "the New Event"`},
		{"Anything at all", 0, "Anything at all", ""}, // number invalid: only emptiness is checked
		{" \n\t", 1, "", "rationale is empty"},
		{nil, 1, "", "rationale is missing"},
		{42.0, 1, "", "rationale 42 is not a string"},
	} {
		got, errs := checkRationale(tc.v, tc.n, 15)
		var texts []string
		for _, err := range errs {
			texts = append(texts, err.Error())
		}
		if got != tc.want || strings.Join(texts, "|") != tc.wantErr {
			t.Errorf("checkRationale(%#v, %d) = %q, %q; want %q, %q", tc.v, tc.n, got, texts, tc.want, tc.wantErr)
		}
	}
}

func TestStripFences(t *testing.T) {
	const obj = `{"relations": []}`
	for _, in := range []string{
		obj,
		"  " + obj + "\n",
		"```json\n" + obj + "\n```",
		"```JSON\n" + obj + "\n```\n",
		"```\n" + obj + "\n```",
		"```json" + obj + "```",
		"Here is the JSON:\n\n```json\n" + obj + "\n```\nHope this helps.",
		"```json\n" + obj, // unterminated fence
	} {
		if got := stripFences(in); got != obj {
			t.Errorf("stripFences(%q) = %q; want %q", in, got, obj)
		}
	}
	// Backticks inside an unfenced object's strings are left alone.
	raw := "{\"relations\": [{\"rationale\": \"it said ```json\"}]}"
	if got := stripFences(raw); got != raw {
		t.Errorf("stripFences(%q) = %q", raw, got)
	}
}

func TestParseItems(t *testing.T) {
	for _, tc := range []struct {
		in      string
		items   int
		wantErr string
	}{
		{`{"relations": []}`, 0, ""},
		{`{"relations": [{"event": 1}, 3]}`, 2, ""},
		{"```json\n{\"relations\": [{}]}\n```", 1, ""},
		{"", 0, "reply is empty"},
		{"```json\n```", 0, "reply is empty"},
		{`{"relations": [{"event": 1, "type": "caus`, 0, "reply is not a JSON object: unexpected end of JSON input"},
		{`[{"event": 1}]`, 0, "reply is not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{`I cannot find related events.`, 0, "reply is not a JSON object: invalid character 'I' looking for beginning of value"},
		{`{"relations": []} trailing`, 0, "reply is not a JSON object: invalid character 't' after top-level value"},
		{`{}`, 0, `reply has no "relations" array`},
		{`{"relations": null}`, 0, `reply has no "relations" array`},
		{`{"relations": {"event": 1}}`, 0, `"relations" is not an array`},
	} {
		items, err := parseItems(tc.in)
		if len(items) != tc.items || errText(err) != tc.wantErr {
			t.Errorf("parseItems(%q) = %d items, %v; want %d, %q", tc.in, len(items), err, tc.items, tc.wantErr)
		}
	}
}

// validItem is a valid item for candidate n and its relation.
func validItem(n int, typ RelationType, conf float64) (string, Relation) {
	r := Relation{Number: n, Type: typ, Confidence: conf,
		Rationale: "Event " + strconv.Itoa(n) + " reports talks. They led to the New Event."}
	b, _ := json.Marshal(map[string]any{"event": n, "type": typ, "confidence": conf, "rationale": r.Rationale})
	return string(b), r
}

func TestValidateItems(t *testing.T) {
	i1, r1 := validItem(1, Causes, 0.9)
	i3, r3 := validItem(3, Continuation, 0.7)
	i3b, _ := validItem(3, Parallel, 0.6)
	i5, r5 := validItem(5, Response, 0.5)
	self, _ := validItem(2, Duplicate, 1)
	for _, tc := range []struct {
		name     string
		items    []string
		rels     []Relation
		invalid  int
		problems []string
	}{
		{"all valid", []string{i1, i3, i5}, []Relation{r1, r3, r5}, 0, nil},
		{"none", nil, nil, 0, nil},
		{
			"not candidates",
			[]string{`{"event": 0, "type": "causes", "confidence": 0.9, "rationale": "Event 0 and the New Event."}`, i1,
				`{"event": 16, "type": "causes", "confidence": 0.9, "rationale": "Event 16 and the New Event."}`},
			[]Relation{r1}, 2,
			[]string{"relations[0]: event 0 is not a candidate number (1..15)", "relations[2]: event 16 is not a candidate number (1..15)"},
		},
		{
			"duplicates: the first is kept, later ones are invalid",
			[]string{i3, i1, i3b, i3},
			[]Relation{r3, r1}, 2,
			[]string{"relations[2]: event 3 is listed again (first at relations[0])", "relations[3]: event 3 is listed again (first at relations[0])"},
		},
		{
			"an invalid first occurrence still makes later ones duplicates",
			[]string{`{"event": 3, "type": "related", "confidence": 0.7, "rationale": "Event 3 and the New Event."}`, i3},
			nil, 2,
			[]string{`relations[0]: type "related" is not one of the listed types`, "relations[1]: event 3 is listed again (first at relations[0])"},
		},
		{
			"self link",
			[]string{self, i1},
			[]Relation{r1}, 1,
			[]string{"relations[0]: event 2 is the New Event itself"},
		},
		{
			"every defect of an item is listed",
			[]string{`{"event": 4, "type": "unrelated", "confidence": 1.2, "rationale": "Event 14 is unrelated."}`},
			nil, 1,
			[]string{
				`relations[0]: type "unrelated" is not one of the listed types`,
				"relations[0]: confidence 1.2 is not between 0 and 1",
				`relations[0]: rationale refers to "Event 14" but not to its own "Event 4"`,
				`relations[0]: rationale does not mention "the New Event"`,
			},
		},
		{
			"malformed items",
			[]string{`3`, `null`, `{"type": "causes"}`, i5},
			[]Relation{r5}, 3,
			[]string{
				"relations[0]: is not a JSON object",
				"relations[1]: is not a JSON object",
				"relations[2]: event is missing",
				"relations[2]: confidence is missing",
				"relations[2]: rationale is missing",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raws := make([]json.RawMessage, len(tc.items))
			for i, s := range tc.items {
				raws[i] = json.RawMessage(s)
			}
			rels, invalid, problems := validateItems(raws, 15, map[int]bool{2: true})
			if !reflect.DeepEqual(rels, tc.rels) || invalid != tc.invalid || !reflect.DeepEqual(problems, tc.problems) {
				t.Errorf("validateItems =\n%+v, %d, %q\nwant\n%+v, %d, %q", rels, invalid, problems, tc.rels, tc.invalid, tc.problems)
			}
		})
	}
}

func TestSelfLinks(t *testing.T) {
	newEvent := events.Event{ID: 7, SourceID: "n"}
	cands := []Candidate{
		{Number: 1, Event: events.Event{ID: 1, SourceID: "a"}},
		{Number: 2, Event: events.Event{ID: 7, SourceID: "b"}}, // same database id
		{Number: 3, Event: events.Event{ID: 3, SourceID: "n"}}, // same source id
		{Number: 4, Event: events.Event{}},                     // unsaved: ids unknown, not a self link
	}
	if got, want := selfLinks(newEvent, cands), map[int]bool{2: true, 3: true}; !reflect.DeepEqual(got, want) {
		t.Fatalf("selfLinks = %v; want %v", got, want)
	}
	if got := selfLinks(events.Event{}, cands[3:]); len(got) != 0 {
		t.Fatalf("two events without ids are not the same: %v", got)
	}
}

func TestJudge(t *testing.T) {
	item, r := validItem(1, Escalation, 0.8)
	reply := func(content, refusal string, finish openai.FinishReason) openai.ChatCompletionResponse {
		return openai.ChatCompletionResponse{Choices: []openai.ChatCompletionChoice{{
			Message:      openai.ChatCompletionMessage{Role: "assistant", Content: content, Refusal: refusal},
			FinishReason: finish,
		}}}
	}
	for _, tc := range []struct {
		name     string
		resp     openai.ChatCompletionResponse
		readable bool
		rels     []Relation
		problem  string
	}{
		{"valid", reply(`{"relations": [`+item+`]}`, "", "stop"), true, []Relation{r}, ""},
		{"fenced", reply("```json\n{\"relations\": ["+item+"]}\n```", "", "stop"), true, []Relation{r}, ""},
		{"no finish reason", reply(`{"relations": []}`, "", ""), true, nil, ""},
		{"no choices", openai.ChatCompletionResponse{}, false, nil, "reply has no choices"},
		{"refusal", reply("", "I can't help with that.", "stop"), false, nil, "reply is a refusal: I can't help with that."},
		{"cut off", reply(`{"relations": [`+item+`, {"event": 2`, "", "length"), false, nil,
			"reply was cut off at the output token limit before its JSON object ended; keep rationales to one to three sentences"},
		{"cut off even if complete", reply(`{"relations": []}`, "", "length"), false, nil,
			"reply was cut off at the output token limit before its JSON object ended; keep rationales to one to three sentences"},
		{"content filter", reply("", "", "content_filter"), false, nil, "reply was withheld by the content filter"},
		{"empty", reply("", "", "stop"), false, nil, "reply is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(tc.resp, 3, nil)
			if v.readable != tc.readable || !reflect.DeepEqual(v.relations, tc.rels) || strings.Join(v.problems, "|") != tc.problem {
				t.Errorf("judge = readable %v, %+v, %q; want %v, %+v, %q", v.readable, v.relations, v.problems, tc.readable, tc.rels, tc.problem)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
