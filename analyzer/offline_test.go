package analyzer

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/events"
)

var day0 = time.Date(2015, 9, 10, 0, 0, 0, 0, time.UTC)

func ev(id int64, daysAfter int, summary string, actors ...string) events.Event {
	e := events.Event{ID: id, SourceID: "s" + string(rune('a'+id)), OccurredAt: day0.AddDate(0, 0, daysAfter), Summary: summary}
	for _, a := range actors {
		e.Actors = append(e.Actors, events.Actor{Name: a})
	}
	return e
}

func classify(t *testing.T, newEvent events.Event, cands ...Candidate) Result {
	t.Helper()
	res, err := NewOffline(OfflineOptions{}).Classify(context.Background(), newEvent, cands)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	if res.Calls != 0 || res.Invalid != 0 || res.TokensIn != 0 || res.TokensOut != 0 {
		t.Errorf("offline result counts calls or tokens: %+v", res)
	}
	k := 0
	for _, c := range cands {
		k = max(k, c.Number)
	}
	for _, r := range res.Relations {
		// The offline rationales meet the rules every model reply is held to.
		if _, errs := checkRationale(r.Rationale, r.Number, k); len(errs) > 0 {
			t.Errorf("rationale of Event %d fails validation: %v\n%s", r.Number, errs, r.Rationale)
		}
		if !r.Type.Valid() {
			t.Errorf("Event %d: type %q not in the taxonomy", r.Number, r.Type)
		}
		if r.Confidence < 0 || r.Confidence > 1 {
			t.Errorf("Event %d: confidence %v outside [0, 1]", r.Number, r.Confidence)
		}
	}
	return res
}

func relationOf(res Result, n int) (Relation, bool) {
	for _, r := range res.Relations {
		if r.Number == n {
			return r, true
		}
	}
	return Relation{}, false
}

func TestOfflineIdentity(t *testing.T) {
	c := NewOffline(OfflineOptions{})
	if c.Model() != "offline-rules-v1" || !strings.HasPrefix(c.Model(), "offline-") {
		t.Errorf("Model() = %q", c.Model())
	}
	if c.PromptVersion() != "offline-v1" {
		t.Errorf("PromptVersion() = %q", c.PromptVersion())
	}
	var _ Classifier = c
}

func TestOfflineDuplicate(t *testing.T) {
	prior := ev(1, 0, "A magnitude 8.3 earthquake strikes off the coast of Chile, triggering tsunami warnings.", "Chile")
	again := ev(2, 0, "A magnitude 8.3 earthquake strikes off the coast of Chile, triggering a tsunami warning.", "Chile")
	res := classify(t, again, Candidate{Number: 1, Event: prior, Similarity: 0.93})
	r, ok := relationOf(res, 1)
	if !ok || r.Type != Duplicate {
		t.Fatalf("want a duplicate, got %+v", res.Relations)
	}
	if !strings.Contains(r.Rationale, "same happening") {
		t.Errorf("duplicate rationale: %s", r.Rationale)
	}
	// Similar wording about different happenings is no duplicate.
	baghdad := ev(3, 0, "A car bomb kills seven people in Baghdad.", "Iraq")
	kabul := ev(4, 0, "A car bomb kills nine people in Kabul.", "Afghanistan")
	res = classify(t, kabul, Candidate{Number: 1, Event: baghdad, Similarity: 0.62})
	if r, ok := relationOf(res, 1); ok && r.Type == Duplicate {
		t.Errorf("different happenings judged duplicates: %+v", r)
	}
}

func TestOfflineEscalation(t *testing.T) {
	prior := ev(1, 0, "Turkey and the PKK hold talks on a settlement of the Kurdish conflict.", "Turkey", "Kurdistan Workers' Party")
	next := ev(2, 3, "Turkish jets strike PKK positions in northern Iraq, killing dozens of militants.", "Turkey", "Kurdistan Workers' Party", "Iraq")
	res := classify(t, next, Candidate{Number: 1, Event: prior, Similarity: 0.42})
	r, ok := relationOf(res, 1)
	if !ok || r.Type != Escalation {
		t.Fatalf("want escalation, got %+v", res.Relations)
	}
	for _, want := range []string{"Event 1 reports that Turkey and the PKK hold talks", "the New Event", "Turkish jets strike PKK positions", "Both involve Turkey"} {
		if !strings.Contains(r.Rationale, want) {
			t.Errorf("rationale lacks %q:\n%s", want, r.Rationale)
		}
	}
}

func TestOfflineTypesFromCues(t *testing.T) {
	attack := ev(1, 0, "Houthi rebels attack a Saudi border post, killing five soldiers.", "Houthis", "Saudi Arabia")
	cases := []struct {
		name  string
		event events.Event
		want  RelationType
	}{
		{"de-escalation", ev(2, 2, "Saudi Arabia and the Houthis agree to a ceasefire along the border.", "Saudi Arabia", "Houthis"), DeEscalation},
		{"response", ev(3, 1, "The United Nations condemns the attack on the Saudi border post.", "United Nations", "Saudi Arabia"), Response},
		{"causes", ev(4, 1, "Following the Houthi attack on its border post, Saudi Arabia closes the border crossing.", "Saudi Arabia", "Houthis"), Causes},
		{"continuation", ev(5, 4, "Houthi rebels attack another Saudi border post again.", "Houthis", "Saudi Arabia"), Continuation},
	}
	for _, c := range cases {
		res := classify(t, c.event, Candidate{Number: 4, Event: attack, Similarity: 0.45})
		r, ok := relationOf(res, 4)
		if !ok || r.Type != c.want {
			t.Errorf("%s: want %s, got %+v", c.name, c.want, res.Relations)
		}
	}
	deal := ev(6, 0, "Greece and its creditors agree on a bailout deal.", "Greece", "European Union")
	undo := ev(7, 5, "The Greek parliament rejects the bailout deal with creditors.", "Greece")
	res := classify(t, undo, Candidate{Number: 2, Event: deal, Similarity: 0.5})
	if r, ok := relationOf(res, 2); !ok || r.Type != Reversal {
		t.Errorf("reversal: got %+v", res.Relations)
	}
}

func TestOfflineOmitsUnrelated(t *testing.T) {
	newEvent := ev(3, 2, "Hungary closes its border with Serbia to migrants.", "Hungary", "Serbia")
	related := ev(1, 0, "Thousands of migrants cross from Serbia into Hungary.", "Hungary", "Serbia")
	unrelated := ev(2, 1, "The Federal Reserve leaves interest rates unchanged.", "Federal Reserve")
	res := classify(t, newEvent,
		Candidate{Number: 1, Event: related, Similarity: 0.55},
		Candidate{Number: 2, Event: unrelated, Similarity: 0.04})
	if _, ok := relationOf(res, 1); !ok {
		t.Errorf("related candidate missing: %+v", res.Relations)
	}
	if r, ok := relationOf(res, 2); ok {
		t.Errorf("unrelated candidate returned: %+v", r)
	}
}

func TestOfflineSkipsSelfAndEmpty(t *testing.T) {
	e := ev(1, 0, "Hungary closes its border with Serbia.", "Hungary", "Serbia")
	res := classify(t, e, Candidate{Number: 1, Event: e, Similarity: 1})
	if len(res.Relations) != 0 {
		t.Errorf("the New Event was related to itself: %+v", res.Relations)
	}
	if res := classify(t, e); len(res.Relations) != 0 {
		t.Errorf("no candidates: %+v", res.Relations)
	}
}

func TestOfflineConfidenceRisesWithEvidence(t *testing.T) {
	newEvent := ev(3, 2, "Croatia closes its border crossings with Serbia.", "Croatia", "Serbia")
	prior := ev(1, 0, "Migrants reach the border of Serbia and Croatia.", "Croatia", "Serbia")
	last := -1.0
	for _, sim := range []float64{0.0, 0.1, 0.2, 0.3, 0.5, 0.7} {
		res := classify(t, newEvent, Candidate{Number: 1, Event: prior, Similarity: sim})
		r, ok := relationOf(res, 1)
		if !ok {
			t.Fatalf("two shared names at cosine %.1f: not related", sim)
		}
		if r.Confidence < last {
			t.Errorf("confidence fell from %.2f to %.2f as the cosine rose to %.1f", last, r.Confidence, sim)
		}
		last = r.Confidence
	}
	if last <= 0.5 || last > 1 {
		t.Errorf("confidence at cosine 0.7 with two shared names = %.2f", last)
	}
	if c1, c2 := confidence(1.9, 1.9), confidence(3.5, 1.9); !(c1 < c2) || c1 != 0.5 {
		t.Errorf("confidence(threshold) = %v, above = %v", c1, c2)
	}
}

func TestOfflineDeterministic(t *testing.T) {
	newEvent := ev(9, 3, "Russian jets strike rebel positions in Syria after Moscow's build-up at Latakia.", "Russia", "Syria")
	var cands []Candidate
	for i, s := range []string{
		"Russia deploys fighter jets to an airbase near Latakia, Syria.",
		"The United States expresses concern about Russia's military build-up in Syria.",
		"Syrian rebels seize an airbase in Idlib province.",
		"A typhoon hits Taiwan.",
	} {
		cands = append(cands, Candidate{Number: i + 1, Event: ev(int64(i+1), i-3, s, "Russia", "Syria"), Similarity: 0.5 - 0.1*float64(i)})
	}
	first := classify(t, newEvent, cands...)
	for range 10 {
		if again := classify(t, newEvent, cands...); !reflect.DeepEqual(first, again) {
			t.Fatalf("results differ:\n%+v\n%+v", first, again)
		}
	}
	if len(first.Relations) == 0 {
		t.Fatal("no relations")
	}
	for i := 1; i < len(first.Relations); i++ {
		if first.Relations[i-1].Number >= first.Relations[i].Number {
			t.Errorf("relations not in candidate order: %+v", first.Relations)
		}
	}
}

func TestOfflineCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewOffline(OfflineOptions{}).Classify(ctx, ev(1, 0, "x"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Classify with a canceled context: %v", err)
	}
}

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"The United Nations confirms the destruction. Later reports differ.": "the United Nations confirms the destruction",
		"Five soldiers are killed.":             "five soldiers are killed",
		"President Obama speaks.":               "President Obama speaks",
		"Hungarian police clash with migrants.": "Hungarian police clash with migrants",
		"U.S. forces withdraw.":                 "U.S. forces withdraw",
	}
	for in, want := range cases {
		if got := quote(events.Event{Summary: in}); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
	long := quote(events.Event{Summary: strings.Repeat("word ", 60)})
	if n := len([]rune(long)); n > quoteLimit || !strings.HasSuffix(long, "word…") {
		t.Errorf("long quote (%d characters) not cut at a word boundary: %q", n, long)
	}
	if got := quote(events.Event{Title: "Quake hits Chile", Summary: "A long summary."}); got != "Quake hits Chile" {
		t.Errorf("quote prefers the title: %q", got)
	}
}

func TestFindCues(t *testing.T) {
	cues := func(s string) map[cueKind]cueHit { return newProfile(events.Event{Summary: s}).cues }
	c := cues("Both sides call for de-escalation and talks.")
	if _, ok := c[cueEscalation]; ok {
		t.Errorf("de-escalation read as escalation: %+v", c)
	}
	if h, ok := c[cueDeEscalation]; !ok || h.word != "escalation" {
		t.Errorf("de-escalation cue: %+v", c)
	}
	c = cues("Rebels continue to shell the city in response to the raid.")
	if c[cueContinuation].word != "continue" || c[cueEscalation].word != "shell" || c[cueResponse].word != "in response to" {
		t.Errorf("cues: %+v", c)
	}
	if got := c[cueResponse].at; got != 6 {
		t.Errorf("position of %q = %d, want 6", "in response to", got)
	}
}

// BenchmarkOfflineClassify measures one New Event against 15 candidates.
func BenchmarkOfflineClassify(b *testing.B) {
	newEvent := ev(20, 5, "Hungary's parliament passes a law allowing the Hungarian military to help handle the migrant crisis at its borders with Serbia and Croatia.", "Hungary", "Serbia", "Croatia")
	var cands []Candidate
	for i := range 15 {
		cands = append(cands, Candidate{Number: i + 1, Event: ev(int64(i+1), -i, "Croatia closes seven of eight border crossings with Serbia as thousands of migrants arrive from Hungary.", "Croatia", "Serbia"), Similarity: 0.5 - 0.02*float64(i)})
	}
	ctx := context.Background()
	// cold: every event read afresh; remembered: the profiles of events
	// seen before reused, as for the candidates of a pass in time order.
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewOffline(OfflineOptions{}).Classify(ctx, newEvent, cands); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		c := NewOffline(OfflineOptions{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Classify(ctx, newEvent, cands); err != nil {
				b.Fatal(err)
			}
		}
	})
}
