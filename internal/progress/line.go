package progress

import (
	"fmt"
	"strings"
	"time"
)

// snapshot is the state of a job at one moment, from which both the plain
// line and the bar's description are drawn.
type snapshot struct {
	done, total   int // total 0: unknown
	calls, tokens int
	elapsed       time.Duration
}

// rate is events per second since the start; 0 before any time has passed.
func (s snapshot) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.done) / s.elapsed.Seconds()
}

// eta is the time left at the current rate; ok is false when it cannot be
// told (unknown total, or nothing done yet).
func (s snapshot) eta() (d time.Duration, ok bool) {
	r := s.rate()
	if s.total <= 0 || r <= 0 {
		return 0, false
	}
	left := s.total - s.done
	if left <= 0 {
		return 0, true
	}
	return time.Duration(float64(left) / r * float64(time.Second)), true
}

// line is the plain progress line. final replaces the time left by the
// time taken.
func (s snapshot) line(final bool) string {
	var b strings.Builder
	b.WriteString("progress: ")
	if s.total > 0 {
		fmt.Fprintf(&b, "%d/%d events (%.1f%%)", s.done, s.total, 100*float64(s.done)/float64(s.total))
	} else {
		fmt.Fprintf(&b, "%d events", s.done)
	}
	fmt.Fprintf(&b, ", %.1f events/s", s.rate())
	switch eta, ok := s.eta(); {
	case final:
		fmt.Fprintf(&b, ", took %s", duration(s.elapsed))
	case ok:
		fmt.Fprintf(&b, ", ETA %s", duration(eta))
	case s.total > 0:
		b.WriteString(", ETA unknown")
	}
	fmt.Fprintf(&b, ", %s", s.spent())
	return b.String()
}

// spent is what the model cost so far, the bar's description.
func (s snapshot) spent() string {
	return fmt.Sprintf("%d model calls, %s tokens", s.calls, count(s.tokens))
}

// duration cuts d to whole seconds, as a countdown shows it, and writes it
// the way people read one: 44s, 3m05s, 2h10m.
func duration(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// count abbreviates a large count to three significant figures at most:
// 950, 12.3k, 1.2M, 3.4G.
func count(n int) string {
	f := float64(n)
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case f < 1e6:
		return fmt.Sprintf("%.1fk", f/1e3)
	case f < 1e9:
		return fmt.Sprintf("%.1fM", f/1e6)
	}
	return fmt.Sprintf("%.1fG", f/1e9)
}
