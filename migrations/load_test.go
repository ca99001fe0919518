package migrations

import (
	"fmt"
	"strings"
	"testing"
)

// Every migration sits at its number, with no number missing: tern
// applies them in order, and a gap would leave a database without the
// migration that fills it later.
func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	names, err := numberedFiles()
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if !strings.HasPrefix(n, fmt.Sprintf("%03d_", i+1)) {
			t.Errorf("slot %d holds %q", i+1, n)
		}
	}
	if len(names) < 6 || names[0] != "001_events.sql" {
		t.Errorf("migrations %q", names)
	}
}
