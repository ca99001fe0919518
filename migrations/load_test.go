package migrations

import (
	"fmt"
	"strings"
	"testing"
)

// TestNumberedFilesFillGaps: every number up to the highest embedded one
// has a slot, so that a branch holding migration N without the numbers
// reserved for other branches still migrates; each file lands at its
// number.
func TestNumberedFilesFillGaps(t *testing.T) {
	names, err := numberedFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 7 || names[6] != "007_model_calls.sql" {
		t.Fatalf("migration 7 is not 007_model_calls.sql: %q", names)
	}
	for i, n := range names {
		if n != "" && !strings.HasPrefix(n, fmt.Sprintf("%03d_", i+1)) {
			t.Errorf("slot %d holds %s", i+1, n)
		}
	}
	if names[0] != "001_events.sql" {
		t.Errorf("first migration %q", names[0])
	}
}
