package embeddings_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/pgtest"
)

// TestStepCountsTheEmbeddingUsage: the step's stats carry the requests the
// server answered and the prompt tokens it reported, also for a batch that
// failed after some of its requests were paid.
func TestStepCountsTheEmbeddingUsage(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	var jsonl strings.Builder
	for i := range 7 {
		fmt.Fprintf(&jsonl, `{"id":"e%d","occurred_at":"2026-04-%02d","summary":"Event number %d"}`+"\n", i, i+1, i)
	}
	importString(t, pool, jsonl.String())

	f := newFakeAPI(t, 8)
	f.promptTokens = 5
	e := f.embedder(t, embeddings.OpenAIOptions{Model: "test-embedder", MaxBatchInputs: 3})
	// Batches of 4 events, requests of at most 3 inputs: 4 = 3 + 1, 3.
	st, err := embeddings.Embed(ctx, pool, e, embeddings.StepOptions{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded != 7 || st.Requests != 3 || st.Tokens != 35 {
		t.Fatalf("stats %+v; want 7 embedded in 3 requests of 5 tokens an input", st)
	}

	// The second request of a batch fails: the batch is rolled back, but
	// its first request was answered and billed.
	importString(t, pool, strings.ReplaceAll(jsonl.String(), "Event number", "Changed event"))
	f.respond = func(n int, _ wireRequest, w http.ResponseWriter) bool {
		if n == 5 {
			http.Error(w, `{"error":{"message":"bad input","type":"invalid_request_error","code":"context_length_exceeded"}}`, http.StatusBadRequest)
			return true
		}
		return false
	}
	st, err = embeddings.Embed(ctx, pool, e, embeddings.StepOptions{BatchSize: 4})
	if err == nil {
		t.Fatal("want the failed request's error")
	}
	if st.Embedded != 0 || st.Requests != 1 || st.Tokens != 15 {
		t.Fatalf("stats %+v; want nothing embedded, and the one answered request of 3 inputs counted", st)
	}

	// The offline embedder calls no server.
	st, err = embeddings.Embed(ctx, pool, embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: 16}), embeddings.StepOptions{})
	if err != nil || st.Embedded != 7 || st.Requests != 0 || st.Tokens != 0 {
		t.Fatalf("offline: %+v, %v", st, err)
	}
}
