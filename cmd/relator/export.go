package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/review"
)

func exportCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	status := fs.String("status", review.Approved, "approved (approved and edited: the reviewed graph), pending, rejected, edited, superseded or all")
	format := fs.String("format", review.JSONL, "jsonl, csv or graphml")
	out := fs.String("o", "", "write to this file (default: stdout, and the summary line to stderr)")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"export takes no arguments"}
		}
		switch *format {
		case review.JSONL, review.CSV, review.GraphML:
		default:
			return usageError{fmt.Sprintf("unknown --format %q: want jsonl, csv or graphml", *format)}
		}
		pool, err := db.Open(ctx, inv.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		w, summaryTo, where := inv.stdout, inv.stderr, "stdout"
		var f *os.File
		if *out != "" {
			if f, err = os.Create(*out); err != nil {
				return err
			}
			defer f.Close()
			w, summaryTo, where = f, inv.stdout, *out
		}
		st, err := review.Export(ctx, pool, w, review.ExportOptions{Status: *status, Format: *format})
		if err != nil {
			return err
		}
		if f != nil {
			if err := f.Close(); err != nil {
				return fmt.Errorf("write %s: %w", *out, err)
			}
		}
		fmt.Fprintf(summaryTo, "export: %d %s relations between %d events as %s to %s\n", st.Relations, *status, st.Events, *format, where)
		return nil
	}
}
