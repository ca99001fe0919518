package bench_test

import (
	"context"
	"testing"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/bench"
	"github.com/relator/relator/internal/pgtest"
)

func TestPipelineCountsEveryStep(t *testing.T) {
	pool := pgtest.New(t)
	e := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 128})
	r, err := bench.Pipeline(context.Background(), pool, bench.PipelineOptions{Events: 200, Seed: 1,
		Embedder: e, Classifier: analyzer.NewOffline(analyzer.OfflineOptions{}),
		Analysis: analyzer.Options{Search: embeddings.SearchOptions{K: 15}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Analysed != 200 || r.Relations == 0 || len(r.AnalyseByTenth) != 10 || r.ImportSeconds <= 0 || r.EmbedSeconds <= 0 {
		t.Fatalf("pipeline: %+v", r)
	}
	for i, rate := range r.AnalyseByTenth {
		if rate <= 0 {
			t.Fatalf("tenth %d has rate %v", i, rate)
		}
	}
}

func TestKNNRecallAgainstExact(t *testing.T) {
	pool := pgtest.New(t)
	r, err := bench.KNN(context.Background(), pool, bench.KNNOptions{Vectors: 2000, Dims: 32, Queries: 40, Seed: 1,
		Search: embeddings.SearchOptions{K: 15}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Recall < 0.8 || r.Recall > 1 || r.P95ms < r.P50ms || r.BuildSeconds <= 0 {
		t.Fatalf("knn: %+v", r)
	}
}
