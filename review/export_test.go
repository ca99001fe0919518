package review_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/relator/relator/review"
)

// TestExport writes the reviewed graph — approved and edited relations,
// the edited text where edited — in each format and reads it back.
func TestExport(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items := pending(t, pool)
	approved, edited, rejected := items[0], items[1], items[2]
	review.Decide(ctx, pool, []int64{approved.ID}, review.Decision{Status: review.Approved, Reviewer: "ana"})
	newWhy := `The "fence" led to the closing, Event ` + itoa(int64(edited.Number)) + ` to the New Event.`
	if _, err := review.Decide(ctx, pool, []int64{edited.ID}, review.Decision{Status: review.Edited, Reviewer: "ana", Rationale: newWhy}); err != nil {
		t.Fatal(err)
	}
	review.Decide(ctx, pool, []int64{rejected.ID}, review.Decision{Status: review.Rejected, Note: "no"})
	export := func(format, status string) (string, review.ExportStats) {
		t.Helper()
		var b bytes.Buffer
		st, err := review.Export(ctx, pool, &b, review.ExportOptions{Format: format, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return b.String(), st
	}
	events := map[string]bool{approved.New.SourceID: true, approved.Prior.SourceID: true, edited.New.SourceID: true, edited.Prior.SourceID: true}

	out, st := export(review.JSONL, "")
	if st.Relations != 2 || st.Events != len(events) {
		t.Fatalf("export counted %+v; want 2 relations between %d events", st, len(events))
	}
	var got []review.Exported
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e review.Exported
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, e)
	}
	byID := map[int64]review.Exported{}
	for _, e := range got {
		byID[e.ID] = e
	}
	if e := byID[edited.ID]; e.Status != review.Edited || e.Rationale != newWhy || e.ModelRationale != edited.Rationale ||
		e.Type != edited.Type || e.ReviewedBy != "ana" || e.PriorEvent != edited.Prior.SourceID || e.NewEvent != edited.New.SourceID {
		t.Errorf("edited relation exported as %+v", e)
	}
	// The confidence as the model gave it (0.82), not as float4 widens it.
	if e := byID[approved.ID]; e.Status != review.Approved || e.Rationale != approved.Rationale || e.ModelRationale != "" ||
		float32(e.Confidence) != float32(approved.Confidence) || len(strconv.FormatFloat(e.Confidence, 'f', -1, 64)) > 6 {
		t.Errorf("approved relation exported as %+v", e)
	}

	out, _ = export(review.CSV, "")
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 || records[0][0] != "id" || records[0][4] != "rationale" {
		t.Fatalf("csv: %q", records)
	}
	for _, r := range records[1:] {
		if r[0] == itoa(edited.ID) && (r[4] != newWhy || r[len(r)-1] != edited.Rationale) {
			t.Errorf("csv row of the edited relation: %q", r)
		}
	}

	out, _ = export(review.GraphML, "")
	var g struct {
		Keys []struct {
			ID  string `xml:"id,attr"`
			For string `xml:"for,attr"`
		} `xml:"key"`
		Graph struct {
			Directed string `xml:"edgedefault,attr"`
			Nodes    []struct {
				ID string `xml:"id,attr"`
			} `xml:"node"`
			Edges []struct {
				ID     string `xml:"id,attr"`
				Source string `xml:"source,attr"`
				Target string `xml:"target,attr"`
				Data   []struct {
					Key   string `xml:"key,attr"`
					Value string `xml:",chardata"`
				} `xml:"data"`
			} `xml:"edge"`
		} `xml:"graph"`
	}
	if err := xml.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	keys := map[string]bool{}
	for _, k := range g.Keys {
		keys[k.ID] = true
	}
	if g.Graph.Directed != "directed" || len(g.Graph.Nodes) != len(events) || len(g.Graph.Edges) != 2 {
		t.Fatalf("graphml: %d nodes, %d edges, %q\n%s", len(g.Graph.Nodes), len(g.Graph.Edges), g.Graph.Directed, out)
	}
	for _, n := range g.Graph.Nodes {
		if !events[n.ID] {
			t.Errorf("node %s is no event of the exported relations", n.ID)
		}
	}
	for _, e := range g.Graph.Edges {
		id, err := strconv.ParseInt(strings.TrimPrefix(e.ID, "r"), 10, 64)
		if err != nil {
			t.Fatalf("edge id %q", e.ID)
		}
		want := byID[id]
		if e.Source != want.PriorEvent || e.Target != want.NewEvent {
			t.Errorf("edge %s: %s → %s; want prior %s → new %s", e.ID, e.Source, e.Target, want.PriorEvent, want.NewEvent)
		}
		for _, d := range e.Data {
			if !keys[d.Key] {
				t.Errorf("edge data %q has no <key>", d.Key)
			}
			if d.Key == "rationale" && d.Value != want.Rationale {
				t.Errorf("edge %s rationale %q; want %q", e.ID, d.Value, want.Rationale)
			}
		}
	}

	if _, st := export(review.JSONL, "all"); st.Relations != 3 {
		t.Errorf("all: %d relations", st.Relations)
	}
	if _, st := export(review.CSV, review.Rejected); st.Relations != 1 {
		t.Errorf("rejected: %d relations", st.Relations)
	}
	if _, err := review.Export(ctx, pool, &bytes.Buffer{}, review.ExportOptions{Format: "xlsx"}); err == nil {
		t.Error("an unknown format accepted")
	}
}
