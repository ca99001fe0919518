package analyzer

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkValidate parses and validates one model answer relating 15
// candidates, as every chat reply is checked before anything is written.
func BenchmarkValidate(b *testing.B) {
	var items []string
	for i := 1; i <= 15; i++ {
		items = append(items, fmt.Sprintf(`{"event":%d,"type":"continuation","confidence":0.%d,`+
			`"rationale":"Event %d reports the step before. The New Event continues it."}`, i, i%9+1, i))
	}
	answer := `{"relations":[` + strings.Join(items, ",") + `]}`
	for b.Loop() {
		raw, err := parseItems(answer)
		if err != nil {
			b.Fatal(err)
		}
		if rels, invalid, _ := validateItems(raw, 15, map[int]bool{}); len(rels) != 15 || invalid != 0 {
			b.Fatalf("%d valid, %d invalid", len(rels), invalid)
		}
	}
}
