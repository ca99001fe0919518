package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/progress"
	"github.com/relator/relator/runs"
)

func backfillCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	from := fs.String("from", "", "first day (YYYY-MM-DD, UTC) or RFC 3339 time of the range (required)")
	to := fs.String("to", "", "last day (YYYY-MM-DD, included) or RFC 3339 time (included) of the range (required)")
	reanalyze := fs.Bool("reanalyze", false, "analyse again the events already analysed under the current model and prompt version; reviewed relations stay as they are")
	limit := fs.Int("limit", 0, "analyse at most this many events (0: all)")
	estimate := fs.Bool("estimate", false, "count the requests, tokens and cost the backfill would send, without calling the model or writing anything")
	batch := batchFlag(fs)
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"backfill takes no arguments"}
		}
		start, err := parseBound(*from, "--from", false)
		if err != nil {
			return err
		}
		end, err := parseBound(*to, "--to", true)
		if err != nil {
			return err
		}
		if !end.After(start) {
			return usageError{"--to must not be before --from"}
		}
		if *limit < 0 {
			return usageError{"--limit must not be negative"}
		}
		opts, pool, err := openPass(ctx, inv, "backfill")
		if err != nil {
			return err
		}
		defer pool.Close()
		if opts.SubmitBatches, err = wantBatches(*batch, opts); err != nil {
			return err
		}

		opts.Analysis.From, opts.Analysis.To, opts.Analysis.Limit = start, end, *limit
		now, err := analyzer.Now(ctx, pool) // the database's clock, for the cut-off and the count below
		if err != nil {
			return err
		}
		params := map[string]any{"from": start.Format(time.RFC3339Nano), "to": end.Format(time.RFC3339Nano), "reanalyze": *reanalyze}
		if *reanalyze {
			// Re-analysis redoes what was finished before it began. A
			// re-analysis of the same range that has not finished (stopped,
			// or cut by --limit) is resumed with its time, so what it
			// already redid counts as done; once finished, the next
			// --reanalyze starts a new one.
			cutoff := now
			last, ok, err := runs.Latest(ctx, pool, "backfill", opts.Classifier.Model(), opts.Classifier.PromptVersion(), params)
			if err != nil {
				return err
			}
			if t, perr := time.Parse(time.RFC3339Nano, fmt.Sprint(last.Params["reanalyse_before"])); ok && perr == nil {
				probe := opts.Analysis
				probe.PassStart, probe.ReanalyseBefore = cutoff, t
				left, err := analyzer.RemainingWork(ctx, pool, opts.Classifier, probe)
				if err != nil {
					return err
				}
				if left.Events > 0 {
					cutoff = t
					inv.log.Info("resuming an unfinished re-analysis of this range", "run", last.ID, "reanalyse_before", t, "events_left", left.Events)
				}
			}
			opts.Analysis.ReanalyseBefore = cutoff
			params["reanalyse_before"] = cutoff.Format(time.RFC3339Nano)
		}
		opts.Params = params
		if *estimate {
			opts.Analysis.PassStart = now
			return printEstimate(ctx, pool, inv.stdout, opts)
		}

		probe := opts.Analysis
		probe.PassStart = now
		todo, err := analyzer.RemainingWork(ctx, pool, opts.Classifier, probe)
		if err != nil {
			return err
		}
		total := todo.Events
		if *limit > 0 {
			total = min(total, *limit)
		}
		inv.log.Info("backfill", "from", start.Format(time.RFC3339), "to (excluded)", end.Format(time.RFC3339), "events", total)
		out, _ := inv.stdout.(*os.File)
		bar := progress.New(progress.Options{Total: total, Out: inv.stdout, Terminal: out != nil && progress.IsTerminal(out),
			Interval: inv.cfg.ProgressEvery, Logger: inv.log})
		opts.Observe = func(o analyzer.Outcome) {
			if o.Status == "done" || o.Status == "failed" || o.Status == "dead" {
				bar.Add(1, o.Result.Calls, o.Result.TokensIn+o.Result.TokensOut)
			}
		}
		res, err := pass.Run(ctx, pool, opts)
		bar.Finish()
		summary(inv.stdout, opts, res)
		return passExit(err)
	}
}

// parseBound reads a backfill bound: a YYYY-MM-DD day (midnight UTC) or an
// RFC 3339 time. An upper bound is returned as the first instant after the
// range, so that --to 2015-09-30 includes all of that day.
func parseBound(v, flag string, upper bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, usageError{"backfill needs " + flag}
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if upper {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("%s %q: want YYYY-MM-DD or an RFC 3339 time", flag, v)}
	}
	if upper {
		t = t.Add(time.Nanosecond)
	}
	return t.UTC(), nil
}
