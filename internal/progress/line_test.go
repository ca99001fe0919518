package progress

import (
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     snapshot
		final bool
		want  string
	}{
		{"the documented example",
			snapshot{done: 1200, total: 5000, calls: 1180, tokens: 1_234_567, elapsed: 14068 * time.Millisecond},
			false, "progress: 1200/5000 events (24.0%), 85.3 events/s, ETA 44s, 1180 model calls, 1.2M tokens"},
		{"nothing done yet",
			snapshot{total: 10},
			false, "progress: 0/10 events (0.0%), 0.0 events/s, ETA unknown, 0 model calls, 0 tokens"},
		{"unknown total",
			snapshot{done: 30, calls: 2, tokens: 999, elapsed: 10 * time.Second},
			false, "progress: 30 events, 3.0 events/s, 2 model calls, 999 tokens"},
		{"final",
			snapshot{done: 5000, total: 5000, calls: 4900, tokens: 6_100_000, elapsed: 125 * time.Second},
			true, "progress: 5000/5000 events (100.0%), 40.0 events/s, took 2m05s, 4900 model calls, 6.1M tokens"},
		{"more than the total",
			snapshot{done: 11, total: 10, elapsed: time.Second},
			false, "progress: 11/10 events (110.0%), 11.0 events/s, ETA 0s, 0 model calls, 0 tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.line(tc.final); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0s",
		400 * time.Millisecond:                "0s",
		44*time.Second + 600*time.Millisecond: "44s",
		185 * time.Second:                     "3m05s",
		2*time.Hour + 10*time.Minute + 20*time.Second: "2h10m",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1.0k", 12_345: "12.3k", 1_234_567: "1.2M", 3_400_000_000: "3.4G"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
