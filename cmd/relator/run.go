package main

import (
	"context"
	"flag"
)

func runCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"run takes no arguments"}
		}
		opts, pool, err := openPass(ctx, inv, "run")
		if err != nil {
			return err
		}
		defer pool.Close()
		_, err = runOnePass(ctx, pool, inv.stdout, opts)
		return passExit(err)
	}
}
