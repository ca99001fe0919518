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
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/db"
)

func statusCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	errs := fs.Int("errors", 10, "how many of the newest errors to list")
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"status takes no arguments"}
		}
		e, err := newEmbedder(inv.cfg, inv.log)
		if err != nil {
			return err
		}
		c, err := newClassifier(inv.cfg, inv.log, nil)
		if err != nil {
			return err
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		ws, err := analyzer.Status(ctx, pool, c, *errs)
		if err != nil {
			return err
		}
		unembedded, err := embeddings.Pending(ctx, pool, e.Model(), time.Time{})
		if err != nil {
			return err
		}
		if *asJSON {
			b, err := json.Marshal(struct {
				analyzer.WorkStatus
				Embedder   string `json:"embedder"`
				Unembedded int    `json:"unembedded"`
			}{ws, e.Model(), unembedded})
			if err != nil {
				return err
			}
			fmt.Fprintf(inv.stdout, "%s\n", b)
			return nil
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tPROMPT VERSION\tNOT STARTED\tPENDING\tCLAIMED\tEXPIRED\tBATCHED\tFAILED\tDEAD\tDONE")
		var total analyzer.KeyStatus
		for _, k := range ws.Keys {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", k.Model, k.PromptVersion, k.NotStarted, k.Pending,
				k.Claimed, k.Expired, k.Batched, k.Failed, k.Dead, k.Done)
			total.Pending += k.Pending + k.NotStarted
			total.Claimed += k.Claimed + k.Expired
			total.Failed += k.Failed
			total.Dead += k.Dead
		}
		tw.Flush()
		fmt.Fprintf(inv.stdout, "\n%d events wait for a vector of %s\n", unembedded, e.Model())
		if len(ws.Errors) > 0 {
			fmt.Fprintln(inv.stdout, "\nnewest errors:")
			for _, r := range ws.Errors {
				fmt.Fprintf(inv.stdout, "  %s  %s  %s after %d attempt(s) under %s/%s: %s\n", r.At.Local().Format(time.DateTime),
					r.EventID, r.Status, r.Attempts, r.Model, r.PromptVersion, oneLine(r.Error, 200))
			}
			fmt.Fprintln(inv.stdout, "\n`relator requeue` retries the failed ones now; `relator requeue --dead` the dead-lettered too.")
		}
		var keys []string
		for _, k := range ws.Keys {
			keys = append(keys, k.Model+"/"+k.PromptVersion)
		}
		fmt.Fprintf(inv.stdout, "status: %d pending, %d claimed, %d failed, %d dead under %d analysis key(s) (%s); %d unembedded\n",
			total.Pending, total.Claimed, total.Failed, total.Dead, len(ws.Keys), strings.Join(keys, ", "), unembedded)
		return nil
	}
}

func requeueCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	dead := fs.Bool("dead", false, "also put back dead-lettered analyses")
	var ids stringList
	fs.Var(&ids, "event", "only this event (source id); repeat, or list ids after the flags")
	return func(ctx context.Context, inv invocation) error {
		opts := analyzer.RequeueOptions{Dead: *dead}
		if len(ids) > 0 || len(inv.args) > 0 {
			opts.Events = append(append([]string{}, ids...), inv.args...)
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		n, err := analyzer.Requeue(ctx, pool, opts)
		if err != nil {
			return err
		}
		what := "failed"
		if *dead {
			what = "failed and dead-lettered"
		}
		fmt.Fprintf(inv.stdout, "requeue: %d %s analyses put back as pending; the next pass tries them again\n", n, what)
		return nil
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
