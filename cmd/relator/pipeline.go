package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/config"
	"github.com/relator/relator/embeddings"
)

// pass is one run of the job: embed what is pending, analyse what is
// pending, record it in the runs table.
type pass struct {
	embedder   embeddings.Embedder
	classifier analyzer.Classifier
	totals     analyzer.RunTotals
	refreshed  int
	took       time.Duration
}

// runPass does one pass of the pipeline with the configured providers.
func runPass(ctx context.Context, pool *pgxpool.Pool, cfg config.Config, log *slog.Logger, command string) (pass, error) {
	start := time.Now()
	var p pass
	var err error
	if p.embedder, err = newEmbedder(cfg, log); err != nil {
		return p, err
	}
	if p.classifier, err = newClassifier(cfg, log); err != nil {
		return p, err
	}
	runID, err := analyzer.StartRun(ctx, pool, analyzer.RunInfo{
		Command: command, Embedder: p.embedder.Model(),
		Classifier: p.classifier.Model(), PromptVersion: p.classifier.PromptVersion(),
	})
	if err != nil {
		return p, err
	}
	err = func() error {
		es, err := embeddings.Embed(ctx, pool, p.embedder, embeddings.StepOptions{BatchSize: cfg.EmbedBatchSize, Logger: log})
		p.totals.Embedded, p.refreshed = es.Embedded, es.Refreshed
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		p.totals.Stats, err = analyzer.Analyze(ctx, pool, p.classifier, analyzer.Options{
			EmbeddingModel: p.embedder.Model(),
			Search:         embeddings.SearchOptions{K: cfg.TopK, Window: cfg.Window},
			Concurrency:    cfg.Concurrency,
			RunID:          runID,
			Logger:         log,
		})
		if err != nil {
			return fmt.Errorf("analyse: %w", err)
		}
		return nil
	}()
	p.took = time.Since(start)
	if ferr := analyzer.FinishRun(context.WithoutCancel(ctx), pool, runID, p.totals, err); ferr != nil && err == nil {
		err = ferr
	}
	return p, err
}

// summary prints the pass's human summary line.
func (p pass) summary(w io.Writer, command string) {
	t := p.totals
	var types []string
	for _, typ := range t.Types() {
		types = append(types, fmt.Sprintf("%s %d", typ, t.ByType[typ]))
	}
	byType := ""
	if len(types) > 0 {
		byType = " (" + strings.Join(types, ", ") + ")"
	}
	fmt.Fprintf(w, "%s: embedded %d events with %s, analysed %d with %s (%d failed), wrote %d relations%s, "+
		"%d model calls, %d tokens in / %d out, %d invalid items dropped, in %.1fs\n",
		command, t.Embedded, p.embedder.Model(), t.Analysed, p.classifier.Model(), t.Failed, t.Written, byType,
		t.Calls, t.TokensIn, t.TokensOut, t.Invalid, p.took.Seconds())
}
