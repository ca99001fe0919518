package review_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relator/relator/review"
)

// TestViewsForSQLClients: review_queue has the pending relations, highest
// confidence first, with both events and the rationale's "Event N" and
// "the New Event" followed by the headlines they mean; approved_relations
// has the reviewed graph with the reviewer's text where edited.
func TestViewsForSQLClients(t *testing.T) {
	ctx := context.Background()
	pool, _ := analysed(t, story)
	items := pending(t, pool)
	edited := items[0]
	newWhy := "Event " + itoa(int64(edited.Number)) + " came first; the New Event followed."
	if _, err := review.Decide(ctx, pool, []int64{edited.ID}, review.Decision{Status: review.Edited, Rationale: newWhy}); err != nil {
		t.Fatal(err)
	}

	rows, err := pool.Query(ctx, `SELECT id, confidence, rationale, prior_event, prior_date, prior_summary, new_event, new_date,
		new_summary FROM review_queue`)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]review.Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	n, last := 0, 2.0
	for rows.Next() {
		var id int64
		var conf float64
		var why, prior, priorSummary, newEv, newSummary string
		var priorDate, newDate any
		if err := rows.Scan(&id, &conf, &why, &prior, &priorDate, &priorSummary, &newEv, &newDate, &newSummary); err != nil {
			t.Fatal(err)
		}
		n++
		it := byID[id]
		if id == edited.ID || conf > last || prior != it.Prior.SourceID || newEv != it.New.SourceID ||
			priorSummary != it.Prior.Headline || newSummary != it.New.Headline || priorDate == nil || newDate == nil {
			t.Errorf("review_queue row %d: %v %s→%s", id, conf, prior, newEv)
		}
		last = conf
		ref := "Event " + itoa(int64(it.Number)) + " ["
		i := strings.Index(why, ref)
		if i < 0 {
			t.Errorf("review_queue rationale of %d does not resolve %q: %s", id, ref, why)
			continue
		}
		label := why[i+len(ref) : i+len(ref)+strings.Index(why[i+len(ref):], "]")]
		if utf8.RuneCountInString(label) > 60 || !strings.HasPrefix(it.Prior.Headline, strings.TrimSuffix(label, "…")) {
			t.Errorf("Event %d resolved to %q; want the start of %q", it.Number, label, it.Prior.Headline)
		}
		if !strings.Contains(why, "the New Event [") && !strings.Contains(why, "The New Event [") {
			t.Errorf("review_queue rationale of %d does not resolve the New Event: %s", id, why)
		}
	}
	if rows.Err() != nil || n != len(items)-1 {
		t.Fatalf("review_queue: %d rows (%v); want the %d pending", n, rows.Err(), len(items)-1)
	}

	var status, typ, why, modelWhy string
	if err := pool.QueryRow(ctx, `SELECT status, type, rationale, model_rationale FROM approved_relations`).
		Scan(&status, &typ, &why, &modelWhy); err != nil {
		t.Fatal(err)
	}
	if status != review.Edited || typ != edited.Type || why != newWhy || modelWhy != edited.Rationale {
		t.Errorf("approved_relations: %s %s %q (model's %q)", status, typ, why, modelWhy)
	}
}
