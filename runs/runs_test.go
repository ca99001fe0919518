package runs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/runs"
)

func TestRunsRecordAndList(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	info := runs.Info{Command: "backfill", Embedder: "e", Classifier: "c", PromptVersion: "v1",
		Params: map[string]any{"from": "2015-09-01", "reanalyze": true}}
	id, err := runs.Start(ctx, pool, info)
	if err != nil {
		t.Fatal(err)
	}
	cost := 0.001234
	totals := runs.Totals{Embedded: 3, EmbedRequests: 1, EmbedTokens: 42, Cost: &cost, Stats: analyzer.Stats{Analysed: 2, Failed: 1, Written: 4, Calls: 3, Reused: 2, TokensIn: 30, TokensOut: 5}}
	if err := runs.Finish(ctx, pool, id, runs.Partial, totals, errors.New("some analyses failed")); err != nil {
		t.Fatal(err)
	}
	list, err := runs.List(ctx, pool, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %v", list, err)
	}
	r := list[0]
	if r.ID != id || r.Status != runs.Partial || r.Embedded != 3 || r.Analysed != 2 || r.Failed != 1 || r.Relations != 4 ||
		r.Calls != 3 || r.Reused != 2 || r.TokensIn != 30 || r.Error != "some analyses failed" || r.FinishedAt == nil || r.PID == 0 ||
		r.EmbeddingRequests != 1 || r.EmbeddingTokens != 42 || r.CostUSD == nil || *r.CostUSD != cost {
		t.Fatalf("run recorded as %+v", r)
	}
	last, ok, err := runs.Latest(ctx, pool, "backfill", "c", "v1", map[string]any{"from": "2015-09-01", "reanalyze": true})
	if err != nil || !ok || last.ID != id {
		t.Fatalf("latest: %+v, %v, %v", last, ok, err)
	}
	if _, ok, _ := runs.Latest(ctx, pool, "backfill", "c", "v1", map[string]any{"from": "2016-01-01"}); ok {
		t.Fatal("latest matched a run of other params")
	}
}

// TestUnknownCostIsNullAndBudgetIsAStatus: a run without a price records
// no cost (not 0), and a pass stopped at its budget is recorded as such.
func TestUnknownCostIsNullAndBudgetIsAStatus(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	id, err := runs.Start(ctx, pool, runs.Info{Command: "run", Embedder: "e", Classifier: "c", PromptVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := runs.Finish(ctx, pool, id, runs.Budget, runs.Totals{Stats: analyzer.Stats{Calls: 2, TokensIn: 10}}, nil); err != nil {
		t.Fatal(err)
	}
	list, err := runs.List(ctx, pool, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := list[0]; r.Status != runs.Budget || r.CostUSD != nil || r.Calls != 2 {
		t.Fatalf("run recorded as %+v", r)
	}
}

// TestADeadProcesssRunIsClosed: a run whose heartbeat went stale — its
// process was killed — is closed as aborted by the next Start or List,
// never left running; a live one is left alone.
func TestADeadProcesssRunIsClosed(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	dead, err := runs.Start(ctx, pool, runs.Info{Command: "run", Embedder: "e", Classifier: "c", PromptVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	live, err := runs.Start(ctx, pool, runs.Info{Command: "run", Embedder: "e", Classifier: "c", PromptVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE runs SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1`, dead); err != nil {
		t.Fatal(err)
	}
	list, err := runs.List(ctx, pool, 10)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int64]runs.Run{}
	for _, r := range list {
		status[r.ID] = r
	}
	if status[dead].Status != runs.Aborted || status[dead].Error == "" || status[dead].FinishedAt == nil {
		t.Fatalf("dead process's run: %+v", status[dead])
	}
	if status[live].Status != runs.Running {
		t.Fatalf("live run: %+v", status[live])
	}
}
