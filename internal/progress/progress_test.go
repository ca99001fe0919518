package progress

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand; its ticks are sent by the
// test, one line's worth each.
type fakeClock struct {
	mu       sync.Mutex
	t        time.Time
	ticks    chan time.Time
	interval time.Duration // what the reporter asked for
	stopped  bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2015, 9, 1, 2, 0, 0, 0, time.UTC), ticks: make(chan time.Time)}
}

func (f *fakeClock) clock() clock {
	return clock{
		now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t },
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			f.mu.Lock()
			f.interval = d
			f.mu.Unlock()
			return f.ticks, func() { f.mu.Lock(); f.stopped = true; f.mu.Unlock() }
		},
	}
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// tick hands one tick to the reporter's loop and waits until its line is
// out (the n-th line in all), so that what the test does next cannot change
// what that line shows. The wait is for a line, never for a time: it gives
// up only after a minute.
func (f *fakeClock) tick(t *testing.T, out fmt.Stringer, n int) {
	t.Helper()
	f.ticks <- time.Time{}
	for give := time.Now().Add(time.Minute); len(lines(out.String())) < n || !strings.HasSuffix(out.String(), "\n"); {
		if time.Now().After(give) {
			t.Fatalf("no line %d after a tick; output so far:\n%s", n, out)
		}
		time.Sleep(time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that the race detector accepts being written
// by the reporter and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestPlainLineEveryTick(t *testing.T) {
	fc := newFakeClock()
	var out syncBuffer
	r := newReporter(Options{Total: 5000, Out: &out, Interval: 5 * time.Second}, fc.clock())

	for range 1200 {
		r.Add(1, 1, 1028)
	}
	fc.advance(14068 * time.Millisecond)
	fc.tick(t, &out, 1)
	r.Add(800, 20, 0)
	fc.advance(10 * time.Second)
	fc.tick(t, &out, 2)
	r.Finish()

	got := lines(out.String())
	want := []string{
		"progress: 1200/5000 events (24.0%), 85.3 events/s, ETA 44s, 1200 model calls, 1.2M tokens",
		"progress: 2000/5000 events (40.0%), 83.1 events/s, ETA 36s, 1220 model calls, 1.2M tokens",
		"progress: 2000/5000 events (40.0%), 83.1 events/s, took 24s, 1220 model calls, 1.2M tokens",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.interval != 5*time.Second {
		t.Errorf("ticker period %v, want the 5s asked for", fc.interval)
	}
	if !fc.stopped {
		t.Error("Finish left the ticker running")
	}
}

func TestPlainLineCountFollowsTicks(t *testing.T) {
	for _, n := range []int{0, 1, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			fc := newFakeClock()
			var out syncBuffer
			r := newReporter(Options{Total: 100, Out: &out}, fc.clock())
			for i := range n {
				fc.advance(time.Second)
				r.Add(1, 0, 0)
				fc.tick(t, &out, i+1)
			}
			r.Finish()
			r.Finish() // a second call writes nothing
			got := lines(out.String())
			if len(got) != n+1 {
				t.Fatalf("%d ticks gave %d lines, want %d:\n%s", n, len(got), n+1, out.String())
			}
			if !strings.Contains(got[n], "took") {
				t.Errorf("last line is not the final one: %q", got[n])
			}
			if fc.interval != DefaultInterval {
				t.Errorf("ticker period %v, want the default %v", fc.interval, DefaultInterval)
			}
		})
	}
}

func TestPlainLinesThroughLogger(t *testing.T) {
	fc := newFakeClock()
	var out, logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := newReporter(Options{Total: 10, Out: &out, Logger: log}, fc.clock())
	r.Add(4, 2, 1500)
	fc.advance(2 * time.Second)
	fc.tick(t, &logs, 1)
	r.Finish()

	if out.String() != "" {
		t.Errorf("with a logger, Out got %q", out.String())
	}
	got := lines(logs.String())
	if len(got) != 2 {
		t.Fatalf("want 2 records, got:\n%s", logs.String())
	}
	for _, want := range []string{
		`"msg":"progress: 4/10 events (40.0%), 2.0 events/s, ETA 3s, 2 model calls, 1.5k tokens"`,
		`"done":4`, `"total":10`, `"model_calls":2`, `"tokens":1500`, `"level":"INFO"`,
	} {
		if !strings.Contains(got[0], want) {
			t.Errorf("record %s lacks %s", got[0], want)
		}
	}
}

func TestBarShowsDoneOfTotal(t *testing.T) {
	fc := newFakeClock()
	var out syncBuffer
	r := newReporter(Options{Total: 10, Out: &out, Terminal: true}, fc.clock())
	r.Add(3, 3, 2_500_000)
	mid := out.String()
	for _, want := range []string{"3/10", "events/s", "3 model calls, 2.5M tokens", "30%"} {
		if !strings.Contains(mid, want) {
			t.Errorf("bar after 3 of 10 lacks %q: %q", want, mid)
		}
	}
	r.Add(7, 7, 0)
	r.Finish()
	all := out.String()
	if !strings.Contains(all, "10/10") || !strings.Contains(all, "100%") {
		t.Errorf("finished bar lacks 10/10 at 100%%: %q", all)
	}
	final := lines(all)
	if last := final[len(final)-1]; !strings.HasPrefix(last, "progress: 10/10 events (100.0%)") || !strings.Contains(last, "took") {
		t.Errorf("last line %q, want the final summary on a line of its own", last)
	}
}

func TestBarStoppedEarlyKeepsItsCount(t *testing.T) {
	fc := newFakeClock()
	var out syncBuffer
	r := newReporter(Options{Total: 10, Out: &out, Terminal: true}, fc.clock())
	r.Add(4, 1, 10)
	r.Finish()
	all := out.String()
	if strings.Contains(all, "10/10") {
		t.Errorf("a bar stopped at 4 of 10 shows 10/10: %q", all)
	}
	if got := lines(all); !strings.HasPrefix(got[len(got)-1], "progress: 4/10 events") {
		t.Errorf("last line %q, want the 4/10 summary", got[len(got)-1])
	}
}

func TestBarWithoutTotal(t *testing.T) {
	fc := newFakeClock()
	var out syncBuffer
	r := newReporter(Options{Out: &out, Terminal: true}, fc.clock())
	r.Add(5, 5, 50)
	if s := out.String(); !strings.Contains(s, "(5/-") || !strings.Contains(s, "5 model calls") {
		t.Errorf("spinner lacks the count or the calls: %q", s)
	}
	r.Finish()
	if got := lines(out.String()); !strings.HasPrefix(got[len(got)-1], "progress: 5 events,") {
		t.Errorf("last line %q", got[len(got)-1])
	}
}

// TestConcurrentAdd is meant for -race: workers add while lines are written.
func TestConcurrentAdd(t *testing.T) {
	const workers, each = 16, 250
	for _, terminal := range []bool{false, true} {
		t.Run(fmt.Sprintf("terminal=%v", terminal), func(t *testing.T) {
			fc := newFakeClock()
			var out syncBuffer
			r := newReporter(Options{Total: workers * each, Out: &out, Terminal: terminal}, fc.clock())
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						r.Add(1, 2, 3)
						fc.advance(time.Millisecond)
					}
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			if !terminal {
			ticking:
				for {
					select {
					case fc.ticks <- time.Time{}:
					case <-done:
						break ticking
					}
				}
			}
			<-done
			r.Finish()
			got := lines(out.String())
			last := got[len(got)-1]
			want := fmt.Sprintf("progress: %d/%d events (100.0%%)", workers*each, workers*each)
			if !strings.HasPrefix(last, want) || !strings.HasSuffix(last, fmt.Sprintf("%d model calls, %s tokens", 2*workers*each, count(3*workers*each))) {
				t.Errorf("final line %q, want %s… with every call and token", last, want)
			}
		})
	}
}
