package migrations

import (
	"fmt"
	"strings"
	"testing"
)

// TestNumberedFillsOnlyGaps: every embedded file sits at its own number,
// the highest is a real migration, and only missing numbers are empty.
func TestNumberedFillsOnlyGaps(t *testing.T) {
	byNumber, err := numbered()
	if err != nil {
		t.Fatal(err)
	}
	if len(byNumber) < 8 || byNumber[len(byNumber)-1] == "" || byNumber[7] != "008_batches.sql" {
		t.Fatalf("migrations: %q", byNumber)
	}
	for i, name := range byNumber {
		if name != "" && !strings.HasPrefix(name, fmt.Sprintf("%03d_", i+1)) {
			t.Errorf("migration %s at number %d", name, i+1)
		}
	}
	latest, err := Latest()
	if err != nil || int(latest) != len(byNumber) {
		t.Fatalf("Latest %d, %v; want %d", latest, err, len(byNumber))
	}
}
