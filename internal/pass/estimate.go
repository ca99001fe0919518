package pass

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/runs"
)

// Estimate is what a pass of Options would send to the model servers now.
type Estimate struct {
	Embedding embeddings.StepEstimate
	Analysis  analyzer.Estimate
	// Cost is the estimate's cost at the Options' prices, nil when a model
	// that would be used has no price.
	Cost *float64
}

// EstimatePass counts what Run with opts would send — the embeddings of
// the events waiting for a vector, the prompts of the events waiting for
// analysis, in the same scope — without sending anything or writing
// anything (no run is recorded).
func EstimatePass(ctx context.Context, pool *pgxpool.Pool, opts Options) (Estimate, error) {
	var est Estimate
	a := opts.Analysis
	var err error
	if a.PassStart.IsZero() {
		if a.PassStart, err = analyzer.Now(ctx, pool); err != nil {
			return est, err
		}
	}
	if est.Embedding, err = embeddings.EstimateStep(ctx, pool, opts.Embedder, embeddings.StepOptions{
		BatchSize: opts.EmbedBatch, Before: a.To}); err != nil {
		return est, err
	}
	if est.Analysis, err = analyzer.EstimateAnalysis(ctx, pool, opts.Classifier, a); err != nil {
		return est, err
	}
	est.Cost = Cost(opts.Prices, opts.Embedder.Model(), opts.Classifier.Model(), runs.Totals{
		EmbedTokens: est.Embedding.Tokens,
		Stats:       analyzer.Stats{TokensIn: est.Analysis.TokensIn, TokensOut: est.Analysis.TokensOut}})
	return est, nil
}
