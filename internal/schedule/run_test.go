package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relator/relator/internal/metrics"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/schedule"
)

// Two replicas on one database, both waking on the same ticks of @every 1s:
// each tick runs exactly once, on one of them, and the other says why it
// skipped it.
func TestReplicasRunEachTickOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	logs := newLogs(t)
	var ran ticks
	var replicas []*replica
	for _, name := range []string{"a", "b"} {
		replicas = append(replicas, start(t, schedule.Options{
			Spec: "@every 1s",
			Pool: openPool(t, url),
			Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
				ran.add(tick, name)
				time.Sleep(100 * time.Millisecond) // a short pass: the lock is still held when the other wakes
				return nil
			},
			Logger:   logs.logger(name),
			Hostname: name,
			PID:      1,
		}))
	}
	waitFor(t, 15*time.Second, "4 ticks run", func() bool { return ran.len() >= 4 })
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			if err := r.shutdown(t); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	wg.Wait()

	got := ran.list()
	if len(got) < 3 {
		t.Fatalf("%d ticks ran, want at least 3", len(got))
	}
	for tick, by := range ran.ran {
		if len(by) != 1 {
			t.Errorf("tick %s ran %d times (%v)", tick, len(by), by)
		}
	}
	for i, tick := range got {
		if tick.Nanosecond() != 0 {
			t.Errorf("tick %s is not on a whole second", tick)
		}
		if i > 0 && tick.Sub(got[i-1]) != time.Second {
			t.Errorf("ticks %s then %s: a tick was missed or reordered (%s)", got[i-1], tick, &ran)
		}
	}
	skips := logs.count("skipped: another replica holds the lock") + logs.count("skipped: another replica ran this tick")
	if skips < len(got)-1 {
		t.Errorf("%d skip lines for %d ticks: the losing replica should skip each tick", skips, len(got))
	}

	// schedule_ticks has one row per tick run, naming its replica.
	pool := openPool(t, url)
	rows, err := pool.Query(context.Background(), `SELECT tick, host FROM schedule_ticks WHERE spec = '@every 1s' ORDER BY tick`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var recorded []time.Time
	for rows.Next() {
		var tick time.Time
		var host string
		if err := rows.Scan(&tick, &host); err != nil {
			t.Fatal(err)
		}
		if by := ran.ran[tick.UTC()]; len(by) != 1 || by[0] != host {
			t.Errorf("schedule_ticks says %s ran %s; the passes say %v", host, tick, by)
		}
		recorded = append(recorded, tick.UTC())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(recorded, got, time.Time.Equal) {
		t.Errorf("schedule_ticks %v, passes ran %v", recorded, got)
	}
}

// A pass longer than the interval: the ticks that come while it runs are
// skipped and logged, not queued: the next pass is a tick after them.
func TestLongPassSkipsTicksNotQueued(t *testing.T) {
	logs := newLogs(t)
	m := metrics.New()
	release := make(chan struct{})
	var ran ticks
	r := start(t, schedule.Options{
		Spec: "@every 1s",
		Pool: pgtest.New(t),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			ran.add(tick, "a")
			if ran.len() == 1 {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		},
		Logger:  logs.logger("a"),
		Metrics: m,
	})
	const busy = "skipped: the previous pass is still running"
	waitFor(t, 10*time.Second, "the first pass", func() bool { return ran.len() == 1 })
	waitFor(t, 10*time.Second, "2 ticks skipped", func() bool { return logs.count(busy) >= 2 })
	close(release)
	waitFor(t, 10*time.Second, "the second pass", func() bool { return ran.len() >= 2 })
	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := ran.list()
	skipped := logs.find(busy)
	for _, e := range skipped {
		tick := e.attrs["tick"].(time.Time).UTC()
		if !tick.After(got[0]) || !tick.Before(got[1]) {
			t.Errorf("skipped tick %s is not between the first pass's %s and the second's %s", tick, got[0], got[1])
		}
		if len(ran.ran[tick]) != 0 {
			t.Errorf("skipped tick %s ran later: queued", tick)
		}
	}
	if gap := got[1].Sub(got[0]); gap < time.Duration(len(skipped)+1)*time.Second {
		t.Errorf("second pass %s after the first, with %d ticks skipped between", gap, len(skipped))
	}
	if n := value(t, m, "relator_passes_total", "outcome", "skipped"); int(n) != len(skipped) {
		t.Errorf("relator_passes_total{skipped} = %v, want %d", n, len(skipped))
	}
}

// Stop closed mid-pass: the pass sees its stop channel closed, winds down,
// and Run returns nil once it has returned.
func TestStopMidPassWaitsForThePass(t *testing.T) {
	started := make(chan struct{})
	var sawStop, returned atomic.Bool
	r := start(t, schedule.Options{
		Spec:   "@yearly",
		RunNow: true,
		Pool:   pgtest.New(t),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			close(started)
			select {
			case <-stop:
				sawStop.Store(true)
			case <-ctx.Done():
			case <-time.After(20 * time.Second):
			}
			time.Sleep(200 * time.Millisecond) // winding down: finishing what it holds
			returned.Store(true)
			return nil
		},
		Logger: newLogs(t).logger("a"),
	})
	waitFor(t, 10*time.Second, "the pass", func() bool {
		select {
		case <-started:
			return true
		default:
			return false
		}
	})
	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !sawStop.Load() {
		t.Error("the pass did not see its stop channel closed")
	}
	if !returned.Load() {
		t.Error("Run returned before the pass did")
	}
}

// A pass that ignores stop keeps Run waiting until the caller's grace
// period ends and it cancels ctx; Run then returns nil.
func TestCancelEndsAPassThatIgnoresStop(t *testing.T) {
	started := make(chan struct{})
	var cancelled atomic.Bool
	r := start(t, schedule.Options{
		Spec:   "@yearly",
		RunNow: true,
		Pool:   pgtest.New(t),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			close(started)
			select {
			case <-ctx.Done():
				cancelled.Store(true)
				return ctx.Err()
			case <-time.After(20 * time.Second):
				return errors.New("never cancelled")
			}
		},
		Logger: newLogs(t).logger("a"),
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no pass")
	}
	r.closeStop()
	select {
	case err := <-r.done:
		t.Fatalf("Run returned (%v) while its pass was still running", err)
	case <-time.After(300 * time.Millisecond):
	}
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !cancelled.Load() {
		t.Error("the pass did not see ctx cancelled")
	}
}

// Passes that fail (and one that panics) are logged and counted; the
// schedule keeps ticking and later passes still run.
func TestFailingPassesDoNotStopTheSchedule(t *testing.T) {
	logs := newLogs(t)
	m := metrics.New()
	var calls atomic.Int32
	r := start(t, schedule.Options{
		Spec:   "@every 1s",
		RunNow: true,
		Pool:   pgtest.New(t),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			n := calls.Add(1)
			if n == 2 {
				panic("a bug in one pass")
			}
			return fmt.Errorf("model unreachable (call %d)", n)
		},
		Logger:  logs.logger("a"),
		Metrics: m,
	})
	waitFor(t, 15*time.Second, "3 passes", func() bool { return calls.Load() >= 3 })
	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	n := int(calls.Load())
	if got := logs.count("pass failed"); got != n {
		t.Errorf("%d 'pass failed' lines for %d failed passes", got, n)
	}
	if got := logs.count("pass panicked"); got != 1 {
		t.Errorf("%d 'pass panicked' lines, want 1", got)
	}
	if got := value(t, m, "relator_errors_total", "kind", "pass"); int(got) != n {
		t.Errorf("relator_errors_total{pass} = %v, want %d", got, n)
	}
	for _, e := range logs.find("pass failed") {
		if e.attrs["level"] != "ERROR" {
			t.Errorf("'pass failed' logged at %v", e.attrs["level"])
		}
	}
	// Each pass that failed still said when the next one is due.
	next := 0
	logs.mu.Lock()
	for _, e := range logs.entries {
		if strings.HasPrefix(e.msg, "next pass at ") {
			next++
		}
	}
	logs.mu.Unlock()
	if next < n-1 {
		t.Errorf("%d 'next pass at' lines after %d passes", next, n)
	}
}

// RunNow: a pass right away, for the start time, recorded like any tick.
func TestRunNowRunsAPassAtStart(t *testing.T) {
	pool := pgtest.New(t)
	var ran ticks
	before := time.Now()
	r := start(t, schedule.Options{
		Spec:   "@yearly",
		RunNow: true,
		Pool:   pool,
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			ran.add(tick, "a")
			return nil
		},
		Logger:   newLogs(t).logger("a"),
		Hostname: "host-a",
		PID:      4242,
	})
	waitFor(t, 10*time.Second, "the pass at start", func() bool { return ran.len() == 1 })
	after := time.Now()
	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	tick := ran.list()[0]
	if tick.Before(before) || tick.After(after) {
		t.Errorf("tick %s is not the start time (between %s and %s)", tick, before, after)
	}
	var host string
	var pid int
	if err := pool.QueryRow(context.Background(),
		`SELECT host, pid FROM schedule_ticks WHERE spec = '@yearly'`).Scan(&host, &pid); err != nil {
		t.Fatal(err)
	}
	if host != "host-a" || pid != 4242 {
		t.Errorf("schedule_ticks row: host %q pid %d", host, pid)
	}
}

// The database goes away (connections refused) and comes back: the ticks
// in between are logged and counted as database errors, and passes resume.
func TestDatabaseOutageIsSurvived(t *testing.T) {
	url := pgtest.NewDatabase(t)
	name := databaseName(t, url)
	logs := newLogs(t)
	m := metrics.New()
	var ran ticks
	r := start(t, schedule.Options{
		Spec: "@every 1s",
		Pool: openPool(t, url),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			ran.add(tick, "a")
			return nil
		},
		Logger:      logs.logger("a"),
		Metrics:     m,
		LockTimeout: 3 * time.Second,
	})
	waitFor(t, 10*time.Second, "a pass", func() bool { return ran.len() >= 1 })

	serverExec(t, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`)
	t.Cleanup(func() { serverExec(t, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS true`) })
	serverExec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
	waitFor(t, 15*time.Second, "2 database errors", func() bool {
		return value(t, m, "relator_errors_total", "kind", "database") >= 2
	})
	during := ran.len()

	serverExec(t, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS true`)
	waitFor(t, 15*time.Second, "a pass after the outage", func() bool { return ran.len() > during })
	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	failed := logs.find("tick failed")
	if len(failed) < 2 {
		t.Errorf("%d 'tick failed' lines, want at least 2", len(failed))
	}
	for _, e := range failed {
		if e.attrs["level"] != "ERROR" {
			t.Errorf("'tick failed' logged at %v", e.attrs["level"])
		}
	}
}

func TestRunRejectsWhatCannotStart(t *testing.T) {
	pass := func(context.Context, <-chan struct{}, time.Time) error { return nil }
	pool := pgtest.New(t)
	for _, c := range []struct {
		name string
		opts schedule.Options
		want string
	}{
		{"bad spec", schedule.Options{Spec: "every night", Pool: pool, Pass: pass}, `invalid schedule "every night"`},
		{"no pool", schedule.Options{Spec: "@daily", Pass: pass}, "no pool"},
		{"no pass", schedule.Options{Spec: "@daily", Pool: pool}, "no pass"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Logger = newLogs(t).logger("a")
			err := schedule.Run(context.Background(), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want an error with %q", err, c.want)
			}
		})
	}
}
