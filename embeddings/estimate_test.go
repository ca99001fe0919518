package embeddings_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// TestEstimateStepCountsWhatEmbedSends: the estimate counts the requests
// Embed then makes and the tokens it sends (the server reports no usage, so
// Embed keeps its own counts of what it sent), without a request itself;
// events whose text did not change are not counted again, and the offline
// embedder needs no request.
func TestEstimateStepCountsWhatEmbedSends(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	var jsonl strings.Builder
	for i := range 9 {
		fmt.Fprintf(&jsonl, `{"id":"e%d","occurred_at":"2026-04-%02d","title":"Event %d","summary":"%s"}`+"\n",
			i, i+1, i, strings.Repeat("word ", 3*i+1))
	}
	importString(t, pool, jsonl.String())
	f := newFakeAPI(t, 8)
	f.promptTokens = 0
	e := f.embedder(t, embeddings.OpenAIOptions{Model: "test-embedder", MaxBatchInputs: 2})
	opts := embeddings.StepOptions{BatchSize: 4}

	est, err := embeddings.EstimateStep(ctx, pool, e, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.requests()) != 0 {
		t.Fatalf("the estimate sent %d requests", len(f.requests()))
	}
	st, err := embeddings.Embed(ctx, pool, e, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Batches of 4, 4 and 1 events in requests of at most 2 inputs: 2+2+1.
	if est.Events != 9 || est.Requests != 5 || est.Requests != st.Requests || est.Tokens != st.Tokens || est.Tokens == 0 {
		t.Fatalf("estimate %+v; Embed made %d requests of %d tokens", est, st.Requests, st.Tokens)
	}
	// A change that leaves the embedded text alone costs no request.
	importString(t, pool, strings.Replace(jsonl.String(), `"id":"e3",`, `"id":"e3","sources":["https://example.org/x"],`, 1))
	if est, err = embeddings.EstimateStep(ctx, pool, e, opts); err != nil || est.Events != 0 || est.Requests != 0 {
		t.Fatalf("estimate after an unembedded change: %+v, %v", est, err)
	}
	off := embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 16})
	if est, err = embeddings.EstimateStep(ctx, pool, off, opts); err != nil || est.Events != 9 || est.Requests != 0 || est.Tokens != 0 {
		t.Fatalf("offline estimate: %+v, %v", est, err)
	}
}
