// Package metrics holds relator's Prometheus collectors: what the passes of
// `relator schedule` did, the work still waiting and when the next pass is
// due. Each Metrics has a registry of its own, so two schedulers in one
// process (or one test) never share a counter, and a nil *Metrics is a valid
// receiver whose methods do nothing: callers count without checking.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of a pass, the values of relator_passes_total's outcome label.
const (
	OutcomeDone    = "done"    // finished with nothing failed
	OutcomePartial = "partial" // finished, some events failed
	OutcomeFailed  = "failed"  // ended by an error
	OutcomeAborted = "aborted" // stopped before it finished (shutdown)
	OutcomeBudget  = "budget"  // stopped cleanly at its token or cost budget
	OutcomeSkipped = "skipped" // a tick that ran no pass here
)

// Kinds of error, the values of relator_errors_total's kind label.
const (
	ErrorDatabase = "database" // a connection, lock or query failed
	ErrorModel    = "model"    // a model call failed
	ErrorPass     = "pass"     // a pass returned an error
)

// States of waiting work, the values of relator_pending_work's state label.
const (
	StateEmbedding = "embedding" // events without a current vector
	StateAnalysis  = "analysis"  // events waiting for analysis
	StateClaimed   = "claimed"   // analyses leased by a running pass
	StateFailed    = "failed"    // analyses that failed and will be tried again
	StateDead      = "dead"      // analyses dead-lettered, waiting for requeue
)

// pendingStates are the states SetPending knows.
func pendingStates() []string {
	return []string{StateEmbedding, StateAnalysis, StateClaimed, StateFailed, StateDead}
}

// Metrics is one set of relator's collectors and the registry that serves
// them.
type Metrics struct {
	registry  *prometheus.Registry
	passes    *prometheus.CounterVec
	embedded  prometheus.Counter
	analysed  prometheus.Counter
	failed    prometheus.Counter
	dead      prometheus.Counter
	relations *prometheus.CounterVec
	calls     prometheus.Counter
	tokens    *prometheus.CounterVec
	errors    *prometheus.CounterVec
	duration  prometheus.Histogram
	pending   *prometheus.GaugeVec
	nextFire  prometheus.Gauge
	// byKind counts model tokens by kind (chat_in, chat_out, embedding),
	// embedRequests the embeddings requests, cost US dollars by kind.
	byKind        *prometheus.CounterVec
	embedRequests prometheus.Counter
	cost          *prometheus.CounterVec
}

// Kinds of model tokens and of cost.
const (
	KindChatIn    = "chat_in"
	KindChatOut   = "chat_out"
	KindEmbedding = "embedding"
	KindChat      = "chat"
)

// New returns relator's collectors registered, with the Go runtime's and the
// process's, on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_passes_total",
			Help: "Passes by outcome: done, partial (some events failed), failed, aborted (stopped at shutdown), budget (stopped at its budget), skipped (a tick that ran no pass here).",
		}, []string{"outcome"}),
		embedded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_events_embedded_total",
			Help: "Events whose vector a pass computed and stored.",
		}),
		analysed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_events_analysed_total",
			Help: "Events whose analysis a pass finished.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_events_failed_total",
			Help: "Event analyses that failed in a pass (tried again later).",
		}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_events_dead_total",
			Help: "Event analyses dead-lettered after failing too often (they wait for requeue).",
		}),
		relations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_relations_written_total",
			Help: "Pending relations written, by relation type.",
		}, []string{"type"}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_model_calls_total",
			Help: "Language model calls made by passes.",
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_tokens_total",
			Help: "Language model tokens, by direction: in (prompt) and out (completion).",
		}, []string{"direction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_errors_total",
			Help: "Errors by kind: database (connection, lock, query), model, pass (a pass that returned an error).",
		}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "relator_pass_duration_seconds",
			Help: "How long passes took, from start to end, whatever their outcome.",
			// From a second (nothing to do) to hours (a night's backlog
			// after an outage).
			Buckets: []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800},
		}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "relator_pending_work",
			Help: "Work waiting, by state: embedding, analysis, claimed (leased by a running pass), failed (to be retried), dead (waiting for requeue).",
		}, []string{"state"}),
		nextFire: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relator_next_fire_timestamp_seconds",
			Help: "When the scheduler's next tick is due, in Unix seconds (0: none).",
		}),
		byKind: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_model_tokens_total",
			Help: "Model tokens by kind: chat_in (prompts), chat_out (completions), embedding (embedded input).",
		}, []string{"kind"}),
		embedRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relator_embedding_requests_total",
			Help: "Embeddings requests made by passes.",
		}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relator_cost_usd_total",
			Help: "What passes' model tokens cost in US dollars at the price table's list prices, by kind: chat, embedding (a model without a price adds nothing).",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.passes, m.embedded, m.analysed, m.failed, m.dead, m.relations,
		m.calls, m.tokens, m.errors, m.duration, m.pending, m.nextFire,
		m.byKind, m.embedRequests, m.cost,
	)
	// Known label values exist from the start, so that a dashboard sees a
	// zero rather than no series before the first pass of each kind.
	for _, o := range []string{OutcomeDone, OutcomePartial, OutcomeFailed, OutcomeAborted, OutcomeBudget, OutcomeSkipped} {
		m.passes.WithLabelValues(o)
	}
	for _, d := range []string{"in", "out"} {
		m.tokens.WithLabelValues(d)
	}
	for _, k := range []string{KindChatIn, KindChatOut, KindEmbedding} {
		m.byKind.WithLabelValues(k)
	}
	for _, k := range []string{KindChat, KindEmbedding} {
		m.cost.WithLabelValues(k)
	}
	for _, k := range []string{ErrorDatabase, ErrorModel, ErrorPass} {
		m.errors.WithLabelValues(k)
	}
	for _, s := range pendingStates() {
		m.pending.WithLabelValues(s)
	}
	return m
}

// KnowRelationTypes makes relator_relations_written_total show a zero for
// each of types (the taxonomy) before any relation of it is written, so a
// replica that has not written one yet still serves the series.
func (m *Metrics) KnowRelationTypes(types []string) {
	if m == nil {
		return
	}
	for _, t := range types {
		m.relations.WithLabelValues(t)
	}
}

// Registry is the registry the collectors are on: for tests and for callers
// that add collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the registry in Prometheus' text format. A nil Metrics
// serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
