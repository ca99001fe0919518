package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/price"
	"github.com/relator/relator/runs"
)

func runsCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	limit := fs.Int("limit", 20, "how many runs to list")
	asJSON := fs.Bool("json", false, "print the runs as a JSON array")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"runs takes no arguments"}
		}
		if *limit < 1 {
			return usageError{"--limit must be at least 1"}
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		list, err := runs.List(ctx, pool, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			if list == nil {
				list = []runs.Run{}
			}
			b, err := json.Marshal(list)
			if err != nil {
				return err
			}
			fmt.Fprintf(inv.stdout, "%s\n", b)
			return nil
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCOMMAND\tSTARTED\tSECONDS\tSTATUS\tEMBEDDED\tANALYSED\tFAILED\tDEAD\tRELATIONS\tEMBED REQS/TOKENS\tCALLS\tREUSED\tTOKENS IN/OUT\tCOST\tERROR")
		counts := map[string]int{}
		for _, r := range list {
			counts[r.Status]++
			cost := "unknown"
			switch {
			case r.CostUSD != nil:
				cost = price.USD(*r.CostUSD)
			case r.Status == runs.Running:
				cost = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f\t%s\t%d\t%d\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d/%d\t%s\t%s\n",
				r.ID, r.Command, r.StartedAt.Local().Format(time.DateTime), r.Seconds, r.Status, r.Embedded, r.Analysed,
				r.Failed, r.Dead, r.Relations, r.EmbeddingRequests, r.EmbeddingTokens, r.Calls, r.Reused, r.TokensIn, r.TokensOut, cost,
				oneLine(r.Error, 80))
		}
		tw.Flush()
		var parts []string
		for _, s := range []string{runs.Running, runs.Done, runs.Partial, runs.Budget, runs.Failed, runs.Aborted} {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		fmt.Fprintf(inv.stdout, "runs: %d listed (%s)\n", len(list), strings.Join(parts, ", "))
		return nil
	}
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
