package analyzer

import (
	"testing"
)

// FuzzValidate: whatever the model replies, every relation validation keeps
// is inside the call — a candidate number in 1..k, not the New Event
// itself, listed once — with a type of the taxonomy, a confidence in [0, 1]
// and a rationale that names its own "Event N", "the New Event" and no
// event outside the call; and every item is either kept or counted invalid.
// Seeds: testdata/fuzz/FuzzValidate and below.
func FuzzValidate(f *testing.F) {
	f.Add(`{"relations":[{"event":1,"type":"continuation","confidence":0.8,"rationale":"Event 1 reports talks. The New Event continues them."}]}`, 3, 0)
	f.Add(`{"relations":[{"event":99,"type":"duplicate","confidence":1,"rationale":"Event 99 is the New Event."},{"event":2,"type":"causes","confidence":0.5,"rationale":"Event 2 as Event 99 said caused the New Event."}]}`, 3, 2)
	f.Add("```json\n{\"relations\":[{\"event\":1.0,\"type\":\"causes\",\"confidence\":1e-1,\"rationale\":\"event 1 … new event\"},{\"event\":1,\"type\":\"causes\",\"confidence\":0.6,\"rationale\":\"Event 1, the New Event\"}]}\n```", 1, 0)
	f.Add(`{"relations":[{"event":"1","type":"Causes","confidence":"0.9","rationale":null},[],null,{"event":-0,"confidence":NaN}]}`, 2, 1)
	f.Fuzz(func(t *testing.T, reply string, k, self int) {
		if k < 1 || k > 200 {
			return
		}
		items, err := parseItems(reply)
		if err != nil {
			return
		}
		selfSet := map[int]bool{self: true}
		rels, invalid, problems := validateItems(items, k, selfSet)
		if len(rels)+invalid != len(items) {
			t.Fatalf("%d kept + %d invalid of %d items", len(rels), invalid, len(items))
		}
		if (invalid > 0) != (len(problems) > 0) {
			t.Fatalf("%d invalid items, %d problems", invalid, len(problems))
		}
		seen := map[int]bool{}
		for _, r := range rels {
			if r.Number < 1 || r.Number > k || selfSet[r.Number] || seen[r.Number] {
				t.Fatalf("relation to candidate %d kept (k %d, self %d, seen %v)", r.Number, k, self, seen)
			}
			seen[r.Number] = true
			if !r.Type.Valid() || validConfidence(r.Confidence) != nil {
				t.Fatalf("kept %+v", r)
			}
			if !mentionsEvent(r.Rationale, r.Number) || !mentionsNewEvent(r.Rationale) {
				t.Fatalf("kept rationale %q for Event %d", r.Rationale, r.Number)
			}
			for _, n := range eventRefs(r.Rationale) {
				if n < 1 || n > k {
					t.Fatalf("kept rationale %q citing Event %d of %d", r.Rationale, n, k)
				}
			}
		}
	})
}
