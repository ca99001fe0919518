package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/pass"
	"github.com/relator/relator/internal/price"
)

// printEstimate does a pass's --estimate: it counts what the pass would
// send and prints it, a line for the embeddings, one for the analysis and
// the summary line. Nothing is sent to a model server, nothing written.
func printEstimate(ctx context.Context, pool *pgxpool.Pool, w io.Writer, opts pass.Options) error {
	est, err := pass.EstimatePass(ctx, pool, opts)
	if err != nil {
		return err
	}
	e, a := est.Embedding, est.Analysis
	emodel, cmodel := opts.Embedder.Model(), opts.Classifier.Model()
	fmt.Fprintf(w, "estimate: embedding %d events with %s: %d requests, %d tokens (tokenized as they would be sent), %s\n",
		e.Events, emodel, e.Requests, e.Tokens, partCost(opts.Prices, emodel, e.Tokens, 0))
	if _, ok := opts.Classifier.(analyzer.Prompter); !ok {
		fmt.Fprintf(w, "estimate: analysing %d events with %s: no model calls\n", a.Events, cmodel)
	} else {
		standIn := ""
		if a.StandIn > 0 {
			standIn = fmt.Sprintf("; %d of them not embedded yet, so rendered with stand-in candidates (their %d latest prior events) instead of the ones retrieval will find",
				a.StandIn, opts.Analysis.Search.K)
		}
		fmt.Fprintf(w, "estimate: analysing %d events with %s: %d calls, %d tokens in (the real prompts, rendered and tokenized%s), "+
			"%d tokens out expected (%d per call, about two related candidates; the output cap is higher, repair calls are not foreseen), %s\n",
			a.Events, cmodel, a.Calls, a.TokensIn, standIn, a.TokensOut, analyzer.ExpectedOutputTokens,
			partCost(opts.Prices, cmodel, a.TokensIn, a.TokensOut))
	}
	cost := "cost unknown"
	if est.Cost != nil {
		cost = "cost " + price.USD(*est.Cost)
	}
	fmt.Fprintf(w, "%s: estimate: %d embedding requests, %d model calls, %d tokens in / %d out expected, %s at list prices of %s; nothing sent, nothing written\n",
		opts.Command, e.Requests, a.Calls, e.Tokens+a.TokensIn, a.TokensOut, cost, price.AsOf)
	return nil
}

// partCost is the cost of one model's tokens, or why it is unknown.
func partCost(prices price.Table, model string, in, out int) string {
	if in+out == 0 {
		return "cost $0"
	}
	p, ok := prices.Lookup(model)
	if !ok {
		return price.Unknown(model)
	}
	return "cost " + price.USD(p.Cost(in, out))
}
