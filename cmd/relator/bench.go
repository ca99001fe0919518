package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/config"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/bench"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/db"
)

// The targets of the archive-scale issue, printed beside each figure.
const (
	targetEfficiency    = 0.95
	targetOfflineRate   = 300.0 // events/s end to end, 2 cores
	targetFlatness      = 0.7   // last tenth's analysis rate ÷ first tenth's
	targetKNNP95ms      = 10.0
	targetKNNRecall     = 0.95
	targetPeakRSSMB     = 150.0
	defaultBenchEvents  = 5000
	defaultBenchLatency = 200 * time.Millisecond
)

func benchCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	n := fs.Int("events", defaultBenchEvents, "synthetic events (stories over months, near-duplicates, shared actors)")
	offline := fs.Bool("offline", false, "offline providers, no latency: end-to-end events/s split into import, embedding and analysis")
	latency := fs.Duration("latency", defaultBenchLatency, "latency of each simulated chat call")
	jitter := fs.Duration("jitter", 0, "each chat call takes latency ± up to this")
	limited := fs.Float64("rate-limit-share", 0, "share of chat calls the simulated server answers 429 (Retry-After 50ms)")
	knn := fs.Bool("knn", false, "measure the prior-only nearest-neighbour search alone")
	vectors := fs.Int("vectors", 100000, "with --knn: clustered vectors loaded")
	dims := fs.Int("dims", 1024, "with --knn: their dimensions")
	queries := fs.Int("queries", 200, "with --knn: searches measured")
	poolSize := fs.Int("pool", 0, "with --knn: nearest priors fetched to choose the top K from (0: the default)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic data")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	keep := fs.Bool("keep", false, "keep the throwaway database (its URL is logged, its password redacted)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured run to this file (go tool pprof)")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"bench takes no arguments"}
		}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
		if *n < 10 || *vectors < 100 || *dims < 1 || *queries < 1 {
			return usageError{"bench needs --events ≥ 10, --vectors ≥ 100, --dims ≥ 1, --queries ≥ 1"}
		}
		url, drop, err := db.CreateTemp(ctx, inv.cfg.DatabaseURL, "relator_bench_")
		if err != nil {
			return err
		}
		if *keep {
			inv.log.Info("keeping the bench database", "url", db.Redact(url))
		} else {
			defer func() {
				if err := drop(context.WithoutCancel(ctx)); err != nil {
					inv.log.Error("drop bench database", "err", err)
				}
			}()
		}
		pool, err := db.OpenFor(ctx, url, inv.cfg.Concurrency)
		if err != nil {
			return err
		}
		defer pool.Close()

		var out map[string]any
		switch {
		case *knn:
			r, err := bench.KNN(ctx, pool, bench.KNNOptions{Vectors: *vectors, Dims: *dims, Queries: *queries, Seed: *seed,
				Search: withPool(searchOptions(inv.cfg), *poolSize), Index: indexOptions(inv.cfg)})
			if err != nil {
				return err
			}
			out = map[string]any{"vectors": r.Vectors, "dims": r.Dims, "queries": r.Queries, "k": inv.cfg.TopK,
				"p50_ms": round(r.P50ms), "p95_ms": round(r.P95ms), "max_ms": round(r.MaxMS), "exact_p50_ms": round(r.ExactP50ms),
				"recall_vs_exact": round(r.Recall), "zero_recall_queries": r.ZeroRecall,
				"build_s": round(r.BuildSeconds), "load_s": round(r.LoadSeconds), "settings": benchSettings(inv.cfg, *dims, *poolSize), "p95_ms_first_tenth": round(r.P95FirstTenthMS), "p95_ms_rest": round(r.P95RestMS),
				"target_p95_ms": targetKNNP95ms, "target_recall": targetKNNRecall, "peak_rss_mb": round(bench.PeakRSSMB())}
			fmt.Fprintf(inv.stdout, "bench: knn over %d × %d clustered vectors: p50 %.2f ms, p95 %.2f ms (target ≤ %.0f), recall@%d %.3f (target ≥ %.2f), %d queries at recall 0; index built in %.1fs\n",
				r.Vectors, r.Dims, r.P50ms, r.P95ms, targetKNNP95ms, inv.cfg.TopK, r.Recall, targetKNNRecall, r.ZeroRecall, r.BuildSeconds)
		case *offline:
			cfg := inv.cfg
			cfg.Embedder, cfg.Classifier = config.Offline, config.Offline
			r, err := runPipeline(ctx, inv, cfg, pool, *n, *seed)
			if err != nil {
				return err
			}
			rate := float64(r.Events) / r.Total()
			first, last := 0.0, 0.0
			if len(r.AnalyseByTenth) == 10 {
				first, last = r.AnalyseByTenth[0], r.AnalyseByTenth[9]
			}
			out = map[string]any{"events": r.Events, "offline": true, "events_per_s": round(rate),
				"import_events_per_s": round(float64(r.Events) / r.ImportSeconds), "embed_events_per_s": round(float64(r.Events) / r.EmbedSeconds),
				"analyse_events_per_s":     round(float64(r.Analysed) / r.AnalyseSeconds),
				"analyse_rate_first_tenth": round(first), "analyse_rate_last_tenth": round(last),
				"analyse_rate_by_tenth": roundAll(r.AnalyseByTenth), "relations": r.Relations,
				"seconds":     map[string]float64{"import": round(r.ImportSeconds), "embed": round(r.EmbedSeconds), "analyse": round(r.AnalyseSeconds)},
				"peak_rss_mb": round(bench.PeakRSSMB()), "concurrency": cfg.Concurrency,
				"target_events_per_s": targetOfflineRate, "target_last_over_first": targetFlatness, "target_peak_rss_mb": targetPeakRSSMB}
			fmt.Fprintf(inv.stdout, "bench: offline, %d events: %.0f events/s end to end (target ≥ %.0f): import %.0f/s, embed %.0f/s, analyse %.0f/s; analysis first tenth %.0f/s, last tenth %.0f/s (ratio %.2f, target ≥ %.1f); peak RSS %.0f MB (target ≤ %.0f)\n",
				r.Events, rate, targetOfflineRate, float64(r.Events)/r.ImportSeconds, float64(r.Events)/r.EmbedSeconds,
				float64(r.Analysed)/r.AnalyseSeconds, first, last, last/max(first, 1e-9), targetFlatness, bench.PeakRSSMB(), targetPeakRSSMB)
		default:
			srv := bench.NewServer(bench.ServerOptions{Latency: *latency, Jitter: *jitter, RateLimitShare: *limited})
			defer srv.Close()
			cfg := inv.cfg
			cfg.Embedder, cfg.Classifier = config.OpenAI, config.OpenAI
			cfg.OpenAIBaseURL, cfg.OpenAIAPIKey = srv.BaseURL(), "bench"
			cfg.EmbeddingModel, cfg.ChatModel = "bench-embedding", "bench-chat"
			cfg.EmbeddingDimensions = 0
			r, err := runPipeline(ctx, inv, cfg, pool, *n, *seed)
			if err != nil {
				return err
			}
			rate := float64(r.Analysed) / r.AnalyseSeconds
			ideal := float64(cfg.Concurrency) / latency.Seconds()
			out = map[string]any{"events": r.Events, "concurrency": cfg.Concurrency, "llm_latency_ms": latency.Milliseconds(),
				"events_per_s": round(rate), "ideal_events_per_s": round(ideal), "efficiency": round(rate / ideal),
				"embedding_requests": srv.Embeddings.Load(), "llm_calls": r.Calls, "rate_limited_calls": srv.Limited.Load(),
				"tokens_per_event": round(float64(r.TokensIn+r.TokensOut) / float64(max(r.Analysed, 1))),
				"relations":        r.Relations, "peak_rss_mb": round(bench.PeakRSSMB()), "target_efficiency": targetEfficiency}
			fmt.Fprintf(inv.stdout, "bench: %d events, concurrency %d, latency %s: %.1f events/s of an ideal %.1f (efficiency %.3f, target ≥ %.2f); %d embedding requests, %d model calls, %.0f tokens per event, peak RSS %.0f MB\n",
				r.Events, cfg.Concurrency, latency, rate, ideal, rate/ideal, targetEfficiency, srv.Embeddings.Load(), r.Calls,
				float64(r.TokensIn+r.TokensOut)/float64(max(r.Analysed, 1)), bench.PeakRSSMB())
		}
		if *asJSON {
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(inv.stdout, "%s\n", b)
		}
		return nil
	}
}

// startCPUProfile profiles this process until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func runPipeline(ctx context.Context, inv invocation, cfg config.Config, pool *pgxpool.Pool, n int, seed uint64) (bench.PipelineResult, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := newEmbedder(cfg, quiet)
	if err != nil {
		return bench.PipelineResult{}, err
	}
	c, err := newClassifier(cfg, quiet, calllog.New(pool))
	if err != nil {
		return bench.PipelineResult{}, err
	}
	return bench.Pipeline(ctx, pool, bench.PipelineOptions{
		Events: n, Seed: seed, Embedder: e, Classifier: c, EmbedBatch: cfg.EmbedBatchSize, DeferIndexAt: 10000,
		Index: indexOptions(cfg),
		Analysis: analyzer.Options{Search: searchOptions(cfg),
			Concurrency: cfg.Concurrency, Lease: cfg.Lease, MaxAttempts: cfg.MaxAttempts},
		Logger: inv.log,
	})
}

// benchSettings are the index and search settings a kNN bench used.
func benchSettings(cfg config.Config, dims, pool int) map[string]any {
	so := withPool(searchOptions(cfg), pool).WithDefaults()
	io := indexOptions(cfg).WithDefaults()
	return map[string]any{"m": io.M, "ef_construction": io.EfConstruction, "ef_search": so.EfSearch, "pool": so.Pool,
		"exact_below": so.ExactBelow, "iterative_scan": "relaxed_order", "opclass": embeddings.Opclass(dims)}
}

func withPool(o embeddings.SearchOptions, pool int) embeddings.SearchOptions {
	o.Pool = pool
	return o
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func roundAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round(x)
	}
	return out
}
