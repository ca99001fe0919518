package metrics

import "time"

// Pass is what one pass did, as the pass itself reports it when it ends.
type Pass struct {
	Outcome   string         // OutcomeDone, OutcomePartial, OutcomeFailed or OutcomeAborted
	Duration  time.Duration  // from the pass's start to its end
	Embedded  int            // events embedded
	Analysed  int            // events analysed
	Failed    int            // analyses that failed
	Dead      int            // analyses dead-lettered
	Relations map[string]int // relations written, by type
	Calls     int            // model calls
	TokensIn  int            // prompt tokens
	TokensOut int            // completion tokens
	// EmbedRequests and EmbedTokens are the embeddings requests and their
	// input tokens.
	EmbedRequests int
	EmbedTokens   int
	// Cost is what the pass's tokens cost in US dollars, by kind (chat,
	// embedding); a kind whose model has no price is left out.
	Cost map[string]float64
}

// ObservePass counts one pass: its outcome, its duration and what it did.
func (m *Metrics) ObservePass(p Pass) {
	if m == nil {
		return
	}
	m.passes.WithLabelValues(p.Outcome).Inc()
	m.duration.Observe(p.Duration.Seconds())
	m.embedded.Add(float64(p.Embedded))
	m.analysed.Add(float64(p.Analysed))
	m.failed.Add(float64(p.Failed))
	m.dead.Add(float64(p.Dead))
	for typ, n := range p.Relations {
		m.relations.WithLabelValues(typ).Add(float64(n))
	}
	m.calls.Add(float64(p.Calls))
	m.tokens.WithLabelValues("in").Add(float64(p.TokensIn))
	m.tokens.WithLabelValues("out").Add(float64(p.TokensOut))
	m.byKind.WithLabelValues(KindChatIn).Add(float64(p.TokensIn))
	m.byKind.WithLabelValues(KindChatOut).Add(float64(p.TokensOut))
	m.byKind.WithLabelValues(KindEmbedding).Add(float64(p.EmbedTokens))
	m.embedRequests.Add(float64(p.EmbedRequests))
	for kind, usd := range p.Cost {
		m.cost.WithLabelValues(kind).Add(usd)
	}
}

// Skipped counts a tick that ran no pass here: another replica held the
// lock or had run the tick, or this process's previous pass still ran.
func (m *Metrics) Skipped() {
	if m == nil {
		return
	}
	m.passes.WithLabelValues(OutcomeSkipped).Inc()
}

// Error counts one error of a kind (ErrorDatabase, ErrorModel, ErrorPass or
// another short word).
func (m *Metrics) Error(kind string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(kind).Inc()
}

// SetPending sets the work waiting in each state (StateEmbedding,
// StateAnalysis, StateClaimed, StateFailed, StateDead). It is a snapshot: a known state missing from
// pending is set to zero.
func (m *Metrics) SetPending(pending map[string]int) {
	if m == nil {
		return
	}
	for _, s := range pendingStates() {
		if _, ok := pending[s]; !ok {
			m.pending.WithLabelValues(s).Set(0)
		}
	}
	for s, n := range pending {
		m.pending.WithLabelValues(s).Set(float64(n))
	}
}

// SetNextFire sets when the next tick is due; the zero time means none.
func (m *Metrics) SetNextFire(t time.Time) {
	if m == nil {
		return
	}
	if t.IsZero() {
		m.nextFire.Set(0)
		return
	}
	m.nextFire.Set(float64(t.UnixNano()) / 1e9)
}
