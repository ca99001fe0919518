package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/config"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/eval"
	"github.com/relator/relator/internal/pass"
)

// evalOutput is the contract of DESIGN.md's Eval section: the last line of
// `relator eval --json`.
type evalOutput struct {
	Events           int      `json:"events"`
	Queries          int      `json:"queries"`
	K                int      `json:"k"`
	RecallAtK        float64  `json:"recall_at_k"`
	HitAtK           float64  `json:"hit_at_k"`
	Link             evalLink `json:"link"`
	RelationsWritten int      `json:"relations_written"`
	LLMCalls         int      `json:"llm_calls"`
	TokensIn         int      `json:"tokens_in"`
	TokensOut        int      `json:"tokens_out"`
	Embedder         string   `json:"embedder"`
	Classifier       string   `json:"classifier"`
}

type evalLink struct {
	Precision   float64 `json:"precision"`
	Recall      float64 `json:"recall"`
	F1          float64 `json:"f1"`
	ScoredPairs int     `json:"scored_pairs"`
}

func evalCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	file := fs.String("events", "", "story-labelled event JSONL to evaluate on (required)")
	k := fs.Int("k", 15, "candidates retrieved per event (overrides -top-k)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object on the last line")
	keep := fs.Bool("keep", false, "keep the throwaway database and print its URL (for inspection)")
	return func(ctx context.Context, inv invocation) error {
		if *file == "" || len(inv.args) > 0 {
			return usageError{"eval needs --events FILE and no other arguments"}
		}
		if *k < 1 || *k > config.MaxTopK {
			return usageError{fmt.Sprintf("--k must be in 1..%d, what the index can serve", config.MaxTopK)}
		}
		cfg := inv.cfg
		cfg.TopK = *k
		items, err := readLabels(*file, readOptions(cfg))
		if err != nil {
			return err
		}

		start := time.Now()
		url, drop, err := db.CreateTemp(ctx, cfg.DatabaseURL, "relator_eval_")
		if err != nil {
			return err
		}
		if *keep {
			inv.log.Info("keeping the eval database", "url", db.Redact(url))
		} else {
			defer func() {
				if err := drop(context.WithoutCancel(ctx)); err != nil {
					inv.log.Error("drop eval database", "err", err)
				}
			}()
		}
		pool, err := db.Open(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()

		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := events.ImportWith(ctx, pool, f, readOptions(cfg)); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
		inv.cfg = cfg
		opts, err := passOptions(inv, "eval", pool)
		if err != nil {
			return err
		}
		t, err := pass.Run(ctx, pool, opts)
		if err != nil {
			return err
		}
		model := opts.Embedder.Model()
		retrieved, err := retrieveAll(ctx, pool, model, embeddings.SearchOptions{K: cfg.TopK, Window: cfg.Window})
		if err != nil {
			return err
		}
		written, err := analyzer.Pairs(ctx, pool)
		if err != nil {
			return err
		}
		r := eval.ScoreRetrieval(items, retrieved, cfg.TopK)
		var pairs []eval.Pair
		for newID, priors := range retrieved {
			for _, prior := range priors {
				pairs = append(pairs, eval.Pair{New: newID, Prior: prior})
			}
		}
		said := make(map[eval.Pair]bool, len(written))
		for _, w := range written {
			said[eval.Pair{New: w[0], Prior: w[1]}] = true
		}
		l := eval.ScoreLinks(items, pairs, said)
		out := evalOutput{
			Events: len(items), Queries: r.Queries, K: cfg.TopK,
			RecallAtK: r.RecallAtK, HitAtK: r.HitAtK,
			Link:             evalLink{Precision: l.Precision, Recall: l.Recall, F1: l.F1, ScoredPairs: l.ScoredPairs},
			RelationsWritten: len(written), LLMCalls: t.Calls, TokensIn: t.TokensIn, TokensOut: t.TokensOut,
			Embedder: model, Classifier: opts.Classifier.Model(),
		}
		fmt.Fprintf(inv.stdout, "eval: link precision %.3f, recall %.3f, f1 %.3f over %d scored pairs; %d relations, %d model calls\n",
			l.Precision, l.Recall, l.F1, l.ScoredPairs, out.RelationsWritten, out.LLMCalls)
		fmt.Fprintf(inv.stdout, "eval: %d events, %d queries: recall@%d %.3f, hit@%d %.3f with %s in %.1fs\n",
			out.Events, out.Queries, out.K, out.RecallAtK, out.K, out.HitAtK, out.Embedder, time.Since(start).Seconds())
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

// readLabels reads the ids, times and stories of an eval file.
func readLabels(name string, opts events.ReadOptions) ([]eval.Item, error) {
	evs, err := events.ReadFileOptions(name, opts)
	if err != nil {
		return nil, err
	}
	items := make([]eval.Item, len(evs))
	for i, ev := range evs {
		story, _ := ev.Metadata["story"].(string)
		items[i] = eval.Item{ID: ev.SourceID, OccurredAt: ev.OccurredAt, Story: story}
	}
	return items, nil
}

// retrieveAll runs the retrieval for every event and returns, by source id,
// the source ids of its candidates in rank order.
func retrieveAll(ctx context.Context, pool *pgxpool.Pool, model string, opts embeddings.SearchOptions) (map[string][]string, error) {
	refs, err := events.InOrder(ctx, pool)
	if err != nil {
		return nil, err
	}
	sourceID := make(map[int64]string, len(refs))
	for _, r := range refs {
		sourceID[r.ID] = r.SourceID
	}
	out := make(map[string][]string, len(refs))
	for _, r := range refs {
		ns, err := embeddings.Neighbors(ctx, pool, model, r.ID, opts)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			out[r.SourceID] = append(out[r.SourceID], sourceID[n.EventID])
		}
	}
	return out, nil
}
