package synth_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/synth"
)

func TestArchiveIsDeterministicAndStructured(t *testing.T) {
	var a, b bytes.Buffer
	opts := synth.Options{Events: 5000, Seed: 7}
	if err := synth.Write(&a, opts); err != nil {
		t.Fatal(err)
	}
	synth.Write(&b, opts)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote two archives")
	}
	var c bytes.Buffer
	synth.Write(&c, synth.Options{Events: 5000, Seed: 8})
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("two seeds wrote the same archive")
	}

	// Valid event JSONL, in time order, ids unique; stories recur over
	// weeks; some reports repeat an earlier one.
	r := events.NewReader(&a)
	ids := map[string]bool{}
	first, last := map[string]time.Time{}, map[string]time.Time{}
	count := map[string]int{}
	var prev time.Time
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ids[ev.SourceID] || ev.OccurredAt.Before(prev) || len(ev.Actors) == 0 {
			t.Fatalf("event %s: duplicate id, out of order or no actors", ev.SourceID)
		}
		ids[ev.SourceID], prev = true, ev.OccurredAt
		story, _ := ev.Metadata["story"].(string)
		if _, ok := first[story]; !ok {
			first[story] = ev.OccurredAt
		}
		last[story] = ev.OccurredAt
		count[story]++
	}
	if len(ids) != 5000 {
		t.Fatalf("%d events; want 5000", len(ids))
	}
	long := 0
	for s := range count {
		if count[s] >= 10 && last[s].Sub(first[s]) > 14*24*time.Hour {
			long++
		}
	}
	if long < 20 || len(count) < 100 {
		t.Fatalf("%d stories, %d of them with 10+ events over more than two weeks: want a recurring structure", len(count), long)
	}
}
