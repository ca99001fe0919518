package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/calllog"
	"github.com/relator/relator/internal/db"
)

func batchesCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	limit := fs.Int("limit", 20, "how many batches to list")
	asJSON := fs.Bool("json", false, "print the batches as a JSON array")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"batches takes no arguments"}
		}
		if *limit < 1 {
			return usageError{"--limit must be at least 1"}
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		// The repair calls a collection makes are logged as every call is.
		c, err := newClassifier(inv.cfg, inv.log, calllog.New(pool))
		if err != nil {
			return err
		}
		b, err := newBatcher(inv.cfg, inv.log, c)
		if err != nil {
			return err
		}
		var got analyzer.Collected
		if b != nil {
			got, err = b.Collect(ctx, pool, analyzer.Options{Lease: inv.cfg.Lease, MaxAttempts: inv.cfg.MaxAttempts,
				ReaskRejected: inv.cfg.ReaskRejected, Logger: inv.log})
			if err != nil {
				return err
			}
		}
		list, err := analyzer.ListBatches(ctx, pool, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			if list == nil {
				list = []analyzer.BatchRow{}
			}
			out, err := json.Marshal(list)
			if err != nil {
				return err
			}
			fmt.Fprintf(inv.stdout, "%s\n", out)
		} else {
			tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPROVIDER BATCH\tSTATUS\tMODEL\tCREATED\tREQUESTS\tDONE/FAILED\tANALYSED\tRETURNED\tRELATIONS\tCOLLECTED\tERROR")
			for _, r := range list {
				collected := "-"
				if r.CollectedAt != nil {
					collected = r.CollectedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d/%d\t%d\t%d\t%d\t%s\t%s\n", r.ID, r.ProviderBatchID, r.Status, r.Model,
					r.CreatedAt.Local().Format(time.DateTime), r.Requests, r.Completed, r.Failed, r.Analysed, r.Returned,
					r.Relations, collected, oneLine(r.Error, 80))
			}
			tw.Flush()
		}
		polled := "not polled (no openai classifier)"
		if b != nil {
			polled = fmt.Sprintf("%d polled", got.Polled)
		}
		ids := ""
		if len(got.Finished) > 0 {
			ids = " (" + strings.Join(got.Finished, ", ") + ")"
		}
		w := inv.stdout
		if *asJSON {
			w = inv.stderr
		}
		fmt.Fprintf(w, "batches: %d listed, %s, %d collected%s: %d analysed, %d relations written, %d invalid items dropped, %d returned to pending\n",
			len(list), polled, len(got.Finished), ids, got.Stats.Analysed, got.Stats.Written, got.Stats.Invalid, got.Returned)
		return nil
	}
}
