package main

import (
	"context"
	"flag"

	"github.com/relator/relator/internal/pass"
)

func runCmd(fs *flag.FlagSet) func(context.Context, invocation) error {
	estimate := fs.Bool("estimate", false, "count the requests, tokens and cost the pass would send, without calling the model or writing anything")
	batch := batchFlag(fs)
	return func(ctx context.Context, inv invocation) error {
		if len(inv.args) > 0 {
			return usageError{"run takes no arguments"}
		}
		opts, pool, err := openPass(ctx, inv, "run")
		if err != nil {
			return err
		}
		defer pool.Close()
		if opts.SubmitBatches, err = wantBatches(*batch, opts); err != nil {
			return err
		}
		if *estimate {
			return printEstimate(ctx, pool, inv.stdout, opts)
		}
		_, err = runOnePass(ctx, pool, inv.stdout, opts)
		return passExit(err)
	}
}

func batchFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("batch", false, "send the analyses through the OpenAI Batch API (half price, results within 24 hours, collected by later passes and `relator batches`) instead of waiting for them")
}

// wantBatches checks that --batch can be honoured.
func wantBatches(batch bool, opts pass.Options) (bool, error) {
	if batch && opts.Batches == nil {
		return false, usageError{"--batch needs the openai classifier on OpenAI's API (an API key, RELATOR_OPENAI_API_TYPE=openai)"}
	}
	return batch, nil
}
