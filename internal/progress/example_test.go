package progress_test

import (
	"log/slog"
	"os"
	"time"

	"github.com/relator/relator/internal/progress"
)

// A backfill shows a bar when a person watches stderr and writes a log line
// every ten seconds when it runs in a pod or under cron. (Not run as a test:
// its rates depend on the clock.)
func ExampleNew() {
	events := []string{"wt56842", "wt56843", "wt56844"}
	r := progress.New(progress.Options{
		Total:    len(events),
		Out:      os.Stderr,
		Terminal: progress.IsTerminal(os.Stderr),
		Interval: 10 * time.Second,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	defer r.Finish()
	for range events {
		// … analyse the event, then count it with what it cost:
		r.Add(1, 1, 1450)
	}
}
