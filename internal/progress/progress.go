package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// DefaultInterval is the period of plain lines when Options.Interval is 0:
// often enough to see a job move, rarely enough not to flood a log.
const DefaultInterval = 10 * time.Second

// Options says what a Reporter shows and where.
type Options struct {
	// Total is the number of events the job will do, for the share done and
	// the time left; 0 when it is not known up front.
	Total int
	// Out receives the bar, or the plain lines when Logger is nil; nil means
	// os.Stderr, where relator's logs go, so that stdout keeps only the
	// command's summary.
	Out io.Writer
	// Terminal selects a live bar, for a person watching Out (see
	// IsTerminal); false writes one plain line every Interval instead, which
	// reads well in a log.
	Terminal bool
	// Interval is the period of plain lines; 0 means DefaultInterval.
	Interval time.Duration
	// Logger, when set, receives the plain lines as info records, so that
	// they share the format (text or JSON) of the job's other logs.
	Logger *slog.Logger
}

// clock is where a Reporter gets the time and its ticks from: the real
// clock in New, a hand-driven one in tests.
type clock struct {
	now func() time.Time
	// ticker starts ticks every d and returns them with a stop function.
	ticker func(d time.Duration) (<-chan time.Time, func())
	// throttle is the least time between two redraws of the bar.
	throttle time.Duration
}

func realClock() clock {
	return clock{
		now: time.Now,
		ticker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
		throttle: 100 * time.Millisecond,
	}
}

// Reporter counts finished events and shows the count. Get one from New.
type Reporter struct {
	opts  Options
	clock clock
	start time.Time

	mu                  sync.Mutex
	done, calls, tokens int
	bar                 *progressbar.ProgressBar // nil in plain mode

	stop     chan struct{} // closed by Finish to end the plain-line loop
	stopped  chan struct{} // closed when the loop has ended
	finished sync.Once
}

// New starts reporting: in plain mode the first line comes one Interval
// from now; in bar mode the (empty) bar is drawn at once.
func New(opts Options) *Reporter { return newReporter(opts, realClock()) }

func newReporter(opts Options, c clock) *Reporter {
	if opts.Out == nil {
		opts.Out = os.Stderr
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	r := &Reporter{opts: opts, clock: c, start: c.now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	if opts.Terminal {
		r.bar = newBar(opts.Out, opts.Total, c.throttle, r.snapshot().spent())
		close(r.stopped)
		return r
	}
	ticks, stopTicks := c.ticker(opts.Interval)
	go r.loop(ticks, stopTicks)
	return r
}

// Add records finished events and the model calls and tokens they took.
// It is safe to call from many goroutines; after Finish it is counted but
// no longer shown.
func (r *Reporter) Add(events, calls, tokens int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += events
	r.calls += calls
	r.tokens += tokens
	if r.bar != nil {
		r.bar.Describe(r.snapshotLocked().spent())
		_ = r.bar.Add(events) // only fails past the total, which a bar cannot show anyway
	}
}

// Finish stops the plain lines or the bar and writes one last line with the
// totals and the time taken. Calls after the first do nothing.
func (r *Reporter) Finish() {
	r.finished.Do(func() {
		close(r.stop)
		<-r.stopped
		r.mu.Lock()
		if r.bar != nil && !r.bar.IsFinished() {
			_ = r.bar.Exit() // keeps the bar as it is and ends its line
		}
		s := r.snapshotLocked()
		r.bar = nil
		r.mu.Unlock()
		r.emit(s, true)
	})
}

// loop writes a plain line on every tick until Finish.
func (r *Reporter) loop(ticks <-chan time.Time, stopTicks func()) {
	defer close(r.stopped)
	defer stopTicks()
	for {
		select {
		case <-r.stop:
			return
		case <-ticks:
			r.emit(r.snapshot(), false)
		}
	}
}

// emit writes one plain line, through the logger when there is one.
func (r *Reporter) emit(s snapshot, final bool) {
	line := s.line(final)
	if r.opts.Logger != nil {
		r.opts.Logger.Info(line, "done", s.done, "total", s.total, "model_calls", s.calls, "tokens", s.tokens)
		return
	}
	fmt.Fprintln(r.opts.Out, line)
}

func (r *Reporter) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *Reporter) snapshotLocked() snapshot {
	return snapshot{done: r.done, total: r.opts.Total, calls: r.calls, tokens: r.tokens, elapsed: r.clock.now().Sub(r.start)}
}
