package metrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/relator/relator/internal/metrics"
)

// A pass reports what it did once it ends; the handler serves it.
func ExampleMetrics_ObservePass() {
	m := metrics.New()
	m.ObservePass(metrics.Pass{
		Outcome:   metrics.OutcomeDone,
		Duration:  42 * time.Second,
		Embedded:  120,
		Analysed:  118,
		Relations: map[string]int{"continuation": 30, "response": 12},
		Calls:     118,
		TokensIn:  240_000,
		TokensOut: 31_000,
	})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "relator_relations_written_total") || strings.HasPrefix(line, "relator_passes_total{outcome=\"done\"}") {
			fmt.Print(line)
		}
	}
	// Output:
	// relator_passes_total{outcome="done"} 1
	// relator_relations_written_total{type="continuation"} 30
	// relator_relations_written_total{type="response"} 12
}
