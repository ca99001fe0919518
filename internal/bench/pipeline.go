package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/synth"
)

// PipelineOptions configures Pipeline.
type PipelineOptions struct {
	// Events is the size of the synthetic archive (internal/synth).
	Events int
	// Seed chooses the archive.
	Seed uint64
	// Embedder and Classifier are the providers measured: offline ones, or
	// OpenAI ones pointed at a Server.
	Embedder   embeddings.Embedder
	Classifier analyzer.Classifier
	// Analysis carries the settings a pass would use (search, concurrency,
	// lease); EmbeddingModel is set from Embedder.
	Analysis   analyzer.Options
	EmbedBatch int
	Index      embeddings.IndexOptions
	// DeferIndexAt is the backfill's bulk-load rule: with at least this many
	// events to embed, the HNSW index is built after them (0: never).
	DeferIndexAt int
	Logger       *slog.Logger
}

// PipelineResult is what Pipeline measured.
type PipelineResult struct {
	Events           int
	ImportSeconds    float64
	EmbedSeconds     float64
	AnalyseSeconds   float64
	Analysed         int
	Relations        int
	Calls            int
	TokensIn         int
	TokensOut        int
	AnalyseByTenth   []float64 // events/s over each tenth of the analysed events
	EmbeddingBatches int
}

// Total is the end-to-end time.
func (r PipelineResult) Total() float64 { return r.ImportSeconds + r.EmbedSeconds + r.AnalyseSeconds }

// Pipeline imports a synthetic archive into the empty, migrated database of
// pool, embeds it and analyses it with the code `relator run` uses,
// timing each step.
func Pipeline(ctx context.Context, pool *pgxpool.Pool, opts PipelineOptions) (PipelineResult, error) {
	res := PipelineResult{Events: opts.Events}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	start := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.Write(pw, synth.Options{Events: opts.Events, Seed: opts.Seed})) }()
	if _, err := events.Import(ctx, pool, pr); err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	res.ImportSeconds = time.Since(start).Seconds()

	start = time.Now()
	es, err := embeddings.Embed(ctx, pool, opts.Embedder, embeddings.StepOptions{
		BatchSize: opts.EmbedBatch, Index: opts.Index, DeferIndex: opts.DeferIndexAt > 0 && opts.Events >= opts.DeferIndexAt, Logger: opts.Logger,
	})
	if err != nil {
		return res, fmt.Errorf("embed: %w", err)
	}
	res.EmbedSeconds = time.Since(start).Seconds()
	res.EmbeddingBatches = es.Batches

	var mu sync.Mutex
	finished := make([]time.Time, 0, opts.Events)
	a := opts.Analysis
	a.EmbeddingModel = opts.Embedder.Model()
	start = time.Now()
	pr2, err := pass.Run(ctx, pool, pass.Options{
		Command: "bench", Embedder: opts.Embedder, Classifier: opts.Classifier, EmbedBatch: opts.EmbedBatch, Index: opts.Index,
		Analysis: a, Logger: opts.Logger,
		Observe: func(o analyzer.Outcome) {
			if o.Status == "done" {
				mu.Lock()
				finished = append(finished, time.Now())
				mu.Unlock()
			}
		},
	})
	if err != nil {
		return res, fmt.Errorf("analyse: %w", err)
	}
	res.AnalyseSeconds = time.Since(start).Seconds()
	res.Analysed, res.Relations = pr2.Analysed, pr2.Written
	res.Calls, res.TokensIn, res.TokensOut = pr2.Calls, pr2.TokensIn, pr2.TokensOut
	res.AnalyseByTenth = tenths(start, finished)
	return res, nil
}

// tenths is the rate over each tenth of the events finished, in order.
func tenths(start time.Time, finished []time.Time) []float64 {
	n := len(finished)
	if n < 10 {
		return nil
	}
	out := make([]float64, 10)
	prev := start
	for k := range 10 {
		end := finished[(k+1)*n/10-1]
		count := (k+1)*n/10 - k*n/10
		if d := end.Sub(prev).Seconds(); d > 0 {
			out[k] = float64(count) / d
		}
		prev = end
	}
	return out
}
