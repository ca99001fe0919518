package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/relator/relator/internal/metrics"
)

// TestObservePassCountsTokensByKindAndCost: chat and embedding tokens are
// counted apart, embeddings requests and the cost in US dollars by kind.
func TestObservePassCountsTokensByKindAndCost(t *testing.T) {
	m := metrics.New()
	m.ObservePass(metrics.Pass{Outcome: metrics.OutcomeBudget, TokensIn: 1000, TokensOut: 200, EmbedRequests: 2, EmbedTokens: 3000,
		Cost: map[string]float64{metrics.KindChat: 0.25, metrics.KindEmbedding: 0.5}})
	m.ObservePass(metrics.Pass{Outcome: metrics.OutcomeDone, TokensIn: 10, EmbedRequests: 1, EmbedTokens: 5,
		Cost: map[string]float64{metrics.KindChat: 0.125}})
	reg := m.Registry()
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"passes at budget", value(t, reg, "relator_passes_total", "outcome", "budget"), 1},
		{"chat in", value(t, reg, "relator_model_tokens_total", "kind", "chat_in"), 1010},
		{"chat out", value(t, reg, "relator_model_tokens_total", "kind", "chat_out"), 200},
		{"embedding", value(t, reg, "relator_model_tokens_total", "kind", "embedding"), 3005},
		{"chat cost", value(t, reg, "relator_cost_usd_total", "kind", "chat"), 0.375},
		{"embedding cost", value(t, reg, "relator_cost_usd_total", "kind", "embedding"), 0.5},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(scrape(t, m), "relator_embedding_requests_total 3") {
		t.Error("embedding requests not counted")
	}
}

func TestObservePassCounts(t *testing.T) {
	m := metrics.New()
	m.ObservePass(metrics.Pass{
		Outcome: metrics.OutcomeDone, Duration: 3 * time.Second,
		Embedded: 10, Analysed: 8, Failed: 1, Dead: 0,
		Relations: map[string]int{"causes": 2, "response": 1},
		Calls:     8, TokensIn: 1000, TokensOut: 200,
	})
	m.ObservePass(metrics.Pass{
		Outcome: metrics.OutcomePartial, Duration: 90 * time.Second,
		Embedded: 5, Analysed: 4, Failed: 2, Dead: 1,
		Relations: map[string]int{"causes": 3},
		Calls:     4, TokensIn: 500, TokensOut: 100,
	})

	reg := m.Registry()
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"passes done", value(t, reg, "relator_passes_total", "outcome", "done"), 1},
		{"passes partial", value(t, reg, "relator_passes_total", "outcome", "partial"), 1},
		{"passes failed", value(t, reg, "relator_passes_total", "outcome", "failed"), 0},
		{"relations causes", value(t, reg, "relator_relations_written_total", "type", "causes"), 5},
		{"relations response", value(t, reg, "relator_relations_written_total", "type", "response"), 1},
		{"tokens in", value(t, reg, "relator_tokens_total", "direction", "in"), 1500},
		{"tokens out", value(t, reg, "relator_tokens_total", "direction", "out"), 300},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	want := `
# HELP relator_events_embedded_total Events whose vector a pass computed and stored.
# TYPE relator_events_embedded_total counter
relator_events_embedded_total 15
# HELP relator_events_analysed_total Events whose analysis a pass finished.
# TYPE relator_events_analysed_total counter
relator_events_analysed_total 12
# HELP relator_events_failed_total Event analyses that failed in a pass (tried again later).
# TYPE relator_events_failed_total counter
relator_events_failed_total 3
# HELP relator_events_dead_total Event analyses dead-lettered after failing too often (they wait for requeue).
# TYPE relator_events_dead_total counter
relator_events_dead_total 1
# HELP relator_model_calls_total Language model calls made by passes.
# TYPE relator_model_calls_total counter
relator_model_calls_total 12
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"relator_events_embedded_total", "relator_events_analysed_total", "relator_events_failed_total",
		"relator_events_dead_total", "relator_model_calls_total"); err != nil {
		t.Error(err)
	}

	// The histogram: one pass under 5 s, one between 60 and 120 s.
	text := scrape(t, m)
	for _, line := range []string{
		`relator_pass_duration_seconds_bucket{le="2"} 0`,
		`relator_pass_duration_seconds_bucket{le="5"} 1`,
		`relator_pass_duration_seconds_bucket{le="60"} 1`,
		`relator_pass_duration_seconds_bucket{le="120"} 2`,
		`relator_pass_duration_seconds_bucket{le="28800"} 2`,
		`relator_pass_duration_seconds_sum 93`,
		`relator_pass_duration_seconds_count 2`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("scrape lacks %q", line)
		}
	}
}

func TestSkippedErrorsPendingNextFire(t *testing.T) {
	m := metrics.New()
	m.Skipped()
	m.Skipped()
	m.Error(metrics.ErrorDatabase)
	m.Error(metrics.ErrorPass)
	m.Error(metrics.ErrorPass)
	m.SetPending(map[string]int{metrics.StateEmbedding: 7, metrics.StateAnalysis: 9, metrics.StateDead: 2})
	m.SetPending(map[string]int{metrics.StateAnalysis: 4, metrics.StateClaimed: 3}) // a snapshot: the rest is zero now
	m.SetNextFire(time.Unix(1_700_000_000, 500_000_000))

	want := `
# HELP relator_passes_total Passes by outcome: done, partial (some events failed), failed, aborted (stopped at shutdown), budget (stopped at its budget), skipped (a tick that ran no pass here).
# TYPE relator_passes_total counter
relator_passes_total{outcome="aborted"} 0
relator_passes_total{outcome="budget"} 0
relator_passes_total{outcome="done"} 0
relator_passes_total{outcome="failed"} 0
relator_passes_total{outcome="partial"} 0
relator_passes_total{outcome="skipped"} 2
# HELP relator_errors_total Errors by kind: database (connection, lock, query), model, pass (a pass that returned an error).
# TYPE relator_errors_total counter
relator_errors_total{kind="database"} 1
relator_errors_total{kind="model"} 0
relator_errors_total{kind="pass"} 2
# HELP relator_pending_work Work waiting, by state: embedding, analysis, claimed (leased by a running pass), failed (to be retried), dead (waiting for requeue).
# TYPE relator_pending_work gauge
relator_pending_work{state="analysis"} 4
relator_pending_work{state="claimed"} 3
relator_pending_work{state="dead"} 0
relator_pending_work{state="embedding"} 0
relator_pending_work{state="failed"} 0
# HELP relator_next_fire_timestamp_seconds When the scheduler's next tick is due, in Unix seconds (0: none).
# TYPE relator_next_fire_timestamp_seconds gauge
relator_next_fire_timestamp_seconds 1.7000000005e+09
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"relator_passes_total", "relator_errors_total", "relator_pending_work", "relator_next_fire_timestamp_seconds"); err != nil {
		t.Error(err)
	}

	m.SetNextFire(time.Time{})
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP relator_next_fire_timestamp_seconds When the scheduler's next tick is due, in Unix seconds (0: none).
# TYPE relator_next_fire_timestamp_seconds gauge
relator_next_fire_timestamp_seconds 0
`), "relator_next_fire_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

func TestHandlerServesEveryMetric(t *testing.T) {
	m := metrics.New()
	m.ObservePass(metrics.Pass{Outcome: metrics.OutcomeDone, Relations: map[string]int{"causes": 1}})
	text := scrape(t, m)
	for _, name := range []string{
		"relator_passes_total", "relator_events_embedded_total", "relator_events_analysed_total",
		"relator_events_failed_total", "relator_events_dead_total", "relator_relations_written_total",
		"relator_model_calls_total", "relator_tokens_total", "relator_errors_total",
		"relator_pass_duration_seconds", "relator_pending_work", "relator_next_fire_timestamp_seconds",
		"go_goroutines", "process_start_time_seconds",
	} {
		if !strings.Contains(text, "# TYPE "+name+" ") {
			t.Errorf("scrape lacks %s", name)
		}
	}
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.Skipped()
	got := value(t, b.Registry(), "relator_passes_total", "outcome", "skipped")
	if got != 0 {
		t.Errorf("second Metrics counted the first one's skip: %v", got)
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.ObservePass(metrics.Pass{Outcome: metrics.OutcomeDone, Relations: map[string]int{"causes": 1}})
	m.Skipped()
	m.Error(metrics.ErrorModel)
	m.SetPending(map[string]int{metrics.StateAnalysis: 1})
	m.SetNextFire(time.Now())
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("nil Metrics' handler: status %d, want 404", rec.Code)
	}
}

// value is the value of the counter or gauge name whose label is value, as
// the registry gathers it.
func value(t *testing.T, reg prometheus.Gatherer, name, label, labelValue string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == labelValue {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, labelValue)
	return 0
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestKnowRelationTypes(t *testing.T) {
	m := metrics.New()
	m.KnowRelationTypes([]string{"causes", "duplicate"})
	if n := testutil.CollectAndCount(m.Registry(), "relator_relations_written_total"); n != 2 {
		t.Fatalf("%d relation series before any pass; want 2 zeros", n)
	}
	var nilMetrics *metrics.Metrics
	nilMetrics.KnowRelationTypes([]string{"causes"})
}
