package pass_test

import (
	"context"
	"testing"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/price"
	"github.com/relator/relator/runs"
)

// TestEstimatePassWritesNothing: an estimate of a backfill's range with
// the offline providers counts the range's events and their priors'
// vectors, costs 0 and records no run.
func TestEstimatePassWritesNothing(t *testing.T) {
	ctx := context.Background()
	pool := open(t, imported(t))
	opts := pass.Options{Command: "backfill", Embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 64}),
		Classifier: analyzer.NewOffline(analyzer.OfflineOptions{}), Prices: price.Defaults()}
	all, err := pass.EstimatePass(ctx, pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Analysis.From, opts.Analysis.To = day(t, "2015-09-10"), day(t, "2015-09-12")
	ranged, err := pass.EstimatePass(ctx, pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	if all.Embedding.Events != 428 || all.Analysis.Events != 428 || all.Analysis.Calls != 0 || all.Cost == nil || *all.Cost != 0 {
		t.Fatalf("whole estimate: %+v", all)
	}
	if ranged.Analysis.Events == 0 || ranged.Analysis.Events >= 428 || ranged.Embedding.Events <= ranged.Analysis.Events ||
		ranged.Embedding.Events >= 428 {
		t.Fatalf("range estimate: %+v", ranged)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM embeddings)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("estimates wrote %d rows (%v)", n, err)
	}
}

// TestCostIsUnknownOnlyWithUsage: a model without a price makes the cost
// unknown only when it was used.
func TestCostIsUnknownOnlyWithUsage(t *testing.T) {
	p := price.Defaults()
	if c := pass.Cost(p, "local-emb", "gpt-4o-mini", runs.Totals{Stats: analyzer.Stats{TokensIn: 1_000_000}}); c == nil || *c != 0.15 {
		t.Fatalf("unused unknown embedder: %v", c)
	}
	if c := pass.Cost(p, "local-emb", "gpt-4o-mini", runs.Totals{EmbedTokens: 1}); c != nil {
		t.Fatalf("used unknown embedder: %v", *c)
	}
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
