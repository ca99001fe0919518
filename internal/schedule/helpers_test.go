package schedule_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/metrics"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/schedule"
)

// logs keeps what the schedulers of a test logged, to count lines by
// message and to show them when the test fails.
type logs struct {
	mu      sync.Mutex
	entries []entry
}

type entry struct {
	msg   string
	attrs map[string]any
}

func newLogs(t *testing.T) *logs {
	l := &logs{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, e := range l.entries {
				t.Logf("%s %v", e.msg, e.attrs)
			}
		}
	})
	return l
}

func (l *logs) logger(replica string) *slog.Logger {
	return slog.New(&logHandler{logs: l, attrs: []slog.Attr{slog.String("replica", replica)}})
}

// count is how many lines had msg.
func (l *logs) count(msg string) int {
	return len(l.find(msg))
}

// find is the lines that had msg.
func (l *logs) find(msg string) []entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []entry
	for _, e := range l.entries {
		if e.msg == msg {
			found = append(found, e)
		}
	}
	return found
}

type logHandler struct {
	logs  *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	e := entry{msg: r.Message, attrs: map[string]any{"level": r.Level.String()}}
	for _, a := range h.attrs {
		e.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.attrs[a.Key] = a.Value.Any()
		return true
	})
	h.logs.mu.Lock()
	h.logs.entries = append(h.logs.entries, e)
	h.logs.mu.Unlock()
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{logs: h.logs, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// replica is one Run in a goroutine.
type replica struct {
	stop     chan struct{}
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
}

// start runs Run with opts until the test stops it or ends.
func start(t *testing.T, opts schedule.Options) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{stop: make(chan struct{}), cancel: cancel, done: make(chan error, 1)}
	opts.Stop = r.stop
	go func() { r.done <- schedule.Run(ctx, opts) }()
	t.Cleanup(func() {
		r.closeStop()
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after stop and cancel")
		}
	})
	return r
}

func (r *replica) closeStop() { r.stopOnce.Do(func() { close(r.stop) }) }

// shutdown closes Stop, as the caller does on SIGTERM, and returns Run's
// result.
func (r *replica) shutdown(t *testing.T) error {
	t.Helper()
	r.closeStop()
	return r.wait(t)
}

func (r *replica) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20s of Stop")
		return nil
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openPool opens a pool on url, closed when the test ends.
func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// serverExec runs sql on the test server's own database, not the test's:
// for what a test does to its database from outside (drop it, shut it).
func serverExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// databaseName is the database of url.
func databaseName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.ConnConfig.Database
}

// value is the value of the counter or gauge name{label=labelValue}, or of
// name with no labels when label is empty.
func value(t *testing.T, m *metrics.Metrics, name, label, labelValue string) float64 {
	t.Helper()
	families, err := prometheus.Gatherer(m.Registry()).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			matches := label == "" // an unlabelled metric
			for _, l := range s.GetLabel() {
				matches = matches || l.GetName() == label && l.GetValue() == labelValue
			}
			if !matches {
				continue
			}
			if c := s.GetCounter(); c != nil {
				return c.GetValue()
			}
			return s.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, labelValue)
	return 0
}

// ticks is a test pass's record of the ticks it ran, by replica.
type ticks struct {
	mu  sync.Mutex
	ran map[time.Time][]string
	seq []time.Time
}

func (k *ticks) add(tick time.Time, replica string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ran == nil {
		k.ran = map[time.Time][]string{}
	}
	k.ran[tick.UTC()] = append(k.ran[tick.UTC()], replica)
	k.seq = append(k.seq, tick.UTC())
}

func (k *ticks) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.seq)
}

func (k *ticks) list() []time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Time(nil), k.seq...)
}

func (k *ticks) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b strings.Builder
	for _, tk := range k.seq {
		fmt.Fprintf(&b, "%s %v; ", tk.Format(time.RFC3339Nano), k.ran[tk])
	}
	return b.String()
}
