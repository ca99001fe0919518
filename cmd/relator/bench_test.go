package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/relator/relator/internal/pgtest"
)

// lastJSON is the JSON object on the last line of out.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	return got
}

func hasKeys(t *testing.T, got map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Errorf("bench output lacks %q: %v", k, got)
		}
	}
}

// TestBenchPrintsTheContract runs the three benches small and checks the
// last line against the bench contract (docs/eval-and-bench.md).
func TestBenchPrintsTheContract(t *testing.T) {
	url := pgtest.ServerURL(t)

	off := lastJSON(t, mustCLI(t, url, "bench", "--offline", "--events", "300", "--json"))
	hasKeys(t, off, "events", "offline", "events_per_s", "import_events_per_s", "embed_events_per_s", "analyse_events_per_s",
		"analyse_rate_first_tenth", "analyse_rate_last_tenth", "peak_rss_mb")
	if off["events"] != 300.0 || off["offline"] != true || off["analyse_rate_last_tenth"].(float64) <= 0 {
		t.Errorf("offline bench: %v", off)
	}

	on := lastJSON(t, mustCLI(t, url, "bench", "--events", "120", "--concurrency", "8", "--latency", "20ms", "--json"))
	hasKeys(t, on, "events", "concurrency", "llm_latency_ms", "events_per_s", "ideal_events_per_s", "efficiency",
		"embedding_requests", "llm_calls", "peak_rss_mb")
	if on["llm_calls"] != 119.0 || on["ideal_events_per_s"] != 400.0 || on["embedding_requests"].(float64) < 1 {
		t.Errorf("bench against the simulated server: %v", on)
	}
	if e := on["efficiency"].(float64); e <= 0 || e > 1.05 {
		t.Errorf("efficiency %v is not a share of the ideal", e)
	}

	knn := lastJSON(t, mustCLI(t, url, "bench", "--knn", "--vectors", "3000", "--dims", "32", "--queries", "30", "--json"))
	hasKeys(t, knn, "vectors", "dims", "p50_ms", "p95_ms", "recall_vs_exact", "build_s")
	if r := knn["recall_vs_exact"].(float64); r < 0.8 || r > 1 {
		t.Errorf("knn recall %v", r)
	}
}
