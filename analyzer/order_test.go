package analyzer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pgtest"
)

// recording relates nothing and records each event's candidates.
type recording struct{ seen map[string][]string }

func (r *recording) Model() string         { return "recording" }
func (r *recording) PromptVersion() string { return "v1" }
func (r *recording) Classify(_ context.Context, ev events.Event, cands []analyzer.Candidate) (analyzer.Result, error) {
	for _, c := range cands {
		r.seen[ev.SourceID] = append(r.seen[ev.SourceID], c.Event.SourceID)
	}
	return analyzer.Result{}, nil
}

// TestPriorOrderIgnoresTheServersCollation: events at the same time are
// ordered by id bytewise, as DESIGN.md and the tests' reference order say,
// on a database whose collation orders them otherwise (ICU puts "a1"
// before "B1"; bytes put "B1" first).
func TestPriorOrderIgnoresTheServersCollation(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'")
	pool, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var collated bool
	if err := pool.QueryRow(ctx, `SELECT 'a1' < 'B1'`).Scan(&collated); err != nil || !collated {
		t.Fatalf("the test database must order 'a1' before 'B1' by default (%v)", err)
	}
	lines := []string{
		`{"id":"a1","occurred_at":"2015-09-01","summary":"Floods hit the delta region after heavy rain."}`,
		`{"id":"B1","occurred_at":"2015-09-01","summary":"Floods hit the delta region after more heavy rain."}`,
		`{"id":"c1","occurred_at":"2015-09-01","summary":"Floods in the delta region recede."}`,
	}
	if _, err := events.Import(ctx, pool, strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64})
	if _, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{}); err != nil {
		t.Fatal(err)
	}
	c := &recording{seen: map[string][]string{}}
	if _, err := analyzer.Analyze(ctx, pool, c, analyzer.Options{EmbeddingModel: e.Model()}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(c.seen["c1"])
	if len(c.seen["B1"]) != 0 || !slices.Equal(c.seen["a1"], []string{"B1"}) || !slices.Equal(c.seen["c1"], []string{"B1", "a1"}) {
		t.Fatalf("candidates by event: %v; bytewise, B1 < a1 < c1", c.seen)
	}
}
