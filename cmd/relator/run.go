package main

import (
	"context"
	"flag"
)

func runCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	estimate := fs.Bool("estimate", false, "count the requests, tokens and cost the pass would send, without calling the model or writing anything")
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"run takes no arguments"}
		}
		opts, pool, err := openPass(ctx, inv, "run")
		if err != nil {
			return err
		}
		defer pool.Close()
		if *estimate {
			return printEstimate(ctx, pool, inv.stdout, opts)
		}
		_, err = runOnePass(ctx, pool, inv.stdout, opts)
		return passExit(err)
	}
}
