package schedule_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/metrics"
	"github.com/relator/relator/internal/schedule"
)

// What `relator schedule` prints at start: the spec and its next ticks.
func ExampleParse() {
	from := time.Date(2025, 3, 10, 12, 7, 30, 0, time.UTC)
	for _, spec := range []string{"30 2 * * *", "CRON_TZ=Europe/Berlin 30 2 * * *", "@every 15m"} {
		s, err := schedule.Parse(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s)
		for _, t := range s.NextN(from, 3) {
			fmt.Println(" ", t.UTC().Format(time.RFC3339))
		}
	}
	_, err := schedule.Parse("@every 100ms")
	fmt.Println(err)
	// Output:
	// 30 2 * * *
	//   2025-03-11T02:30:00Z
	//   2025-03-12T02:30:00Z
	//   2025-03-13T02:30:00Z
	// CRON_TZ=Europe/Berlin 30 2 * * *
	//   2025-03-11T01:30:00Z
	//   2025-03-12T01:30:00Z
	//   2025-03-13T01:30:00Z
	// @every 15m
	//   2025-03-10T12:15:00Z
	//   2025-03-10T12:30:00Z
	//   2025-03-10T12:45:00Z
	// invalid schedule "@every 100ms": @every 100ms: shorter than 1s
}

// How `relator schedule` wires Run: SIGINT/SIGTERM close Stop, so no tick
// fires and the running pass winds down; a grace period later ctx is
// cancelled, which ends what the pass still has in flight. Run returns nil
// either way: the process exits 0.
func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-signals
		close(stop)
		time.Sleep(30 * time.Second) // the grace period
		cancel()
	}()

	pool, err := db.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer pool.Close()
	m := metrics.New()
	err = schedule.Run(ctx, schedule.Options{
		Spec: "30 2 * * *",
		Pool: pool,
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			started := time.Now()
			// … one `relator run` pass that stops claiming once stop is closed …
			m.ObservePass(metrics.Pass{Outcome: metrics.OutcomeDone, Duration: time.Since(started)})
			return nil
		},
		RunNow:   true,
		Stop:     stop,
		HTTPAddr: ":9090",
		Metrics:  m,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
