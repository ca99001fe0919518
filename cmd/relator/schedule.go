package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/metrics"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/schedule"
)

func scheduleCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	runNow := fs.Bool("run-now", false, "do one pass at start (after a deployment missed a tick), then follow the schedule")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"schedule takes no arguments; the spec is -spec or RELATOR_SCHEDULE"}
		}
		spec, err := schedule.Parse(inv.cfg.Schedule)
		if err != nil {
			return err
		}
		var next []string
		for _, t := range spec.NextN(time.Now(), 3) {
			next = append(next, t.Format(time.RFC3339))
		}
		fmt.Fprintf(inv.stdout, "schedule: %q; next passes at %s\n", spec.String(), strings.Join(next, ", "))
		base, pool, err := openPass(ctx, inv, "schedule")
		if err != nil {
			return err
		}
		defer pool.Close()
		m := metrics.New()
		var types []string
		for _, t := range analyzer.Taxonomy() {
			types = append(types, string(t.Type))
		}
		m.KnowRelationTypes(types)
		passes := 0
		err = schedule.Run(ctx, schedule.Options{
			Spec: inv.cfg.Schedule, Pool: pool, RunNow: *runNow, Stop: inv.stop, HTTPAddr: inv.cfg.HTTPAddr,
			Logger: inv.log, Metrics: m,
			Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
				passes++
				opts := base
				opts.Stop = stop
				opts.Params = map[string]any{"tick": tick.UTC().Format(time.RFC3339)}
				res, err := runOnePass(ctx, pool, inv.stdout, opts)
				observe(ctx, m, pool, opts, res, err)
				if errors.Is(err, pass.ErrAborted) {
					return nil // shutting down: recorded as aborted, not an error of the schedule
				}
				return err
			},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "schedule: stopped after %d pass(es) by this replica\n", passes)
		return nil
	}
}

// observe counts a finished pass in the metrics and refreshes the gauges
// of waiting work.
func observe(ctx context.Context, m *metrics.Metrics, pool *pgxpool.Pool, opts pass.Options, res pass.Result, err error) {
	rels := map[string]int{}
	for t, n := range res.ByType {
		rels[string(t)] = n
	}
	m.ObservePass(metrics.Pass{Outcome: res.Status, Duration: res.Took, Embedded: res.Embedded, Analysed: res.Analysed,
		Failed: res.Failed, Dead: res.Dead, Relations: rels, Calls: res.Calls, TokensIn: res.TokensIn, TokensOut: res.TokensOut,
		EmbedRequests: res.EmbedRequests, EmbedTokens: res.EmbedTokens, Cost: costByKind(opts, res)})
	for range res.Failed + res.Dead {
		m.Error(metrics.ErrorModel)
	}
	if err != nil && res.Status == "failed" {
		m.Error(metrics.ErrorDatabase)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ws, serr := analyzer.Status(ctx, pool, opts.Classifier, 0)
	unembedded, perr := embeddings.Pending(ctx, pool, opts.Embedder.Model(), time.Time{})
	if serr != nil || perr != nil {
		return
	}
	p := map[string]int{metrics.StateEmbedding: unembedded}
	for _, k := range ws.Keys {
		if k.Model != opts.Classifier.Model() || k.PromptVersion != opts.Classifier.PromptVersion() {
			continue
		}
		p[metrics.StateAnalysis] = k.NotStarted + k.Pending
		p[metrics.StateClaimed] = k.Claimed + k.Expired
		p[metrics.StateFailed] = k.Failed
		p[metrics.StateDead] = k.Dead
	}
	m.SetPending(p)
}

// costByKind is what a pass's chat and embedding tokens cost, leaving out
// a kind whose model has no price.
func costByKind(opts pass.Options, res pass.Result) map[string]float64 {
	out := map[string]float64{}
	if p, ok := opts.Prices.Lookup(opts.Classifier.Model()); ok {
		out[metrics.KindChat] = p.Cost(res.TokensIn, res.TokensOut)
	}
	if p, ok := opts.Prices.Lookup(opts.Embedder.Model()); ok {
		out[metrics.KindEmbedding] = p.Cost(res.EmbedTokens, 0)
	}
	return out
}
