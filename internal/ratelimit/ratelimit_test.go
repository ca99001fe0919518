package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relator/relator/internal/ratelimit"
)

// fakeClock is a clock whose Sleep advances it at once.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(max(d, 0))
	return nil
}

func (c *fakeClock) limiter(l ratelimit.Limits) *ratelimit.Limiter {
	return ratelimit.New(ratelimit.Options{Limits: l, Now: c.Now, Sleep: c.Sleep})
}

// sent counts the requests a limiter lets through within window, asking
// for one after another as fast as it allows.
func sent(t *testing.T, c *fakeClock, l *ratelimit.Limiter, tokens int, window time.Duration) int {
	t.Helper()
	end := c.Now().Add(window)
	n := 0
	for {
		if _, err := l.Wait(context.Background(), tokens); err != nil {
			t.Fatal(err)
		}
		if c.Now().After(end) {
			return n
		}
		n++
	}
}

func TestRequestsPerMinute(t *testing.T) {
	for _, tc := range []struct {
		rpm    int
		window time.Duration
		want   int // rpm/60 a second over the window (its end included), plus the burst of one second's worth
	}{
		{600, time.Second, 10 + 10},
		{60, time.Minute, 60 + 1},
		{60, 10 * time.Minute, 600 + 1},
		{30, time.Minute, 30 + 1}, // under 60 a minute: a burst of 1
	} {
		c := newFakeClock()
		got := sent(t, c, c.limiter(ratelimit.Limits{RequestsPerMinute: tc.rpm}), 0, tc.window)
		if got != tc.want {
			t.Errorf("RPM %d: %d requests in %v; want %d", tc.rpm, got, tc.window, tc.want)
		}
	}
}

func TestTokensPerMinute(t *testing.T) {
	c := newFakeClock()
	l := c.limiter(ratelimit.Limits{TokensPerMinute: 6000})
	// A full minute's worth at once, then 100 tokens a second.
	if w, _ := l.Wait(context.Background(), 6000); w != 0 {
		t.Fatalf("first request waited %v; the bucket starts full", w)
	}
	if w, _ := l.Wait(context.Background(), 3000); w != 30*time.Second {
		t.Fatalf("3000 tokens at 100/s waited %v; want 30s", w)
	}
	// More than the bucket holds waits for a full bucket, not forever.
	if w, err := l.Wait(context.Background(), 1_000_000); err != nil || w != time.Minute {
		t.Fatalf("an oversized request waited %v, %v; want a minute", w, err)
	}
	// A sustained minute: 6000 tokens' worth of 500-token requests, 12,
	// plus the full bucket at the start (12).
	c = newFakeClock()
	if got := sent(t, c, c.limiter(ratelimit.Limits{TokensPerMinute: 6000}), 500, time.Minute); got != 12+12 {
		t.Fatalf("%d requests of 500 tokens in a minute at 6000 TPM; want 24", got)
	}
}

func TestBothLimitsTheStricterWins(t *testing.T) {
	c := newFakeClock()
	l := c.limiter(ratelimit.Limits{RequestsPerMinute: 6000, TokensPerMinute: 60_000})
	// 1000-token requests: the tokens allow a full bucket of 60, then one
	// a second; the requests would allow 6000.
	if got := sent(t, c, l, 1000, time.Minute); got != 60+60 {
		t.Fatalf("%d requests; want the token limit's 120", got)
	}
}

func TestPauseHoldsEveryRequest(t *testing.T) {
	c := newFakeClock()
	l := c.limiter(ratelimit.Limits{RequestsPerMinute: 6000})
	l.PauseUntil(c.Now().Add(3 * time.Second))
	l.PauseUntil(c.Now().Add(time.Second)) // never shortens a pause
	if w, _ := l.Wait(context.Background(), 0); w < 3*time.Second {
		t.Fatalf("waited %v during a 3s pause", w)
	}
	if w, _ := l.Wait(context.Background(), 0); w != 0 {
		t.Fatalf("waited %v after the pause", w)
	}
}

func TestCancelledWaitGivesItsTurnBack(t *testing.T) {
	c := newFakeClock()
	l := c.limiter(ratelimit.Limits{RequestsPerMinute: 60})
	l.Wait(context.Background(), 0) // the burst of 1
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Wait(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v; want context.Canceled", err)
	}
	// The cancelled request's turn is free again: the next waits one
	// second, not two.
	if w, _ := l.Wait(context.Background(), 0); w != time.Second {
		t.Fatalf("next request waited %v; want 1s", w)
	}
	dl, cancel := context.WithDeadline(context.Background(), c.Now().Add(100*time.Millisecond))
	defer cancel()
	if _, err := l.Wait(dl, 0); !errors.Is(err, ratelimit.ErrDeadline) {
		t.Fatalf("err %v; want ErrDeadline", err)
	}
}

func TestNoLimitsOnlyPauses(t *testing.T) {
	c := newFakeClock()
	l := c.limiter(ratelimit.Limits{})
	for range 1000 {
		if w, err := l.Wait(context.Background(), 1e9); w != 0 || err != nil {
			t.Fatalf("a limiter without limits waited %v, %v", w, err)
		}
	}
	l.PauseUntil(c.Now().Add(time.Second))
	if w, _ := l.Wait(context.Background(), 0); w != time.Second {
		t.Fatalf("waited %v in a pause of 1s", w)
	}
	var none *ratelimit.Limiter
	none.PauseUntil(time.Now().Add(time.Hour))
	if w, err := none.Wait(context.Background(), 1e9); w != 0 || err != nil {
		t.Fatalf("nil limiter waited %v, %v", w, err)
	}
}

// TestRealClockShortWindow: on the real clock, 8 goroutines asking as fast
// as they can for 300ms at 600 RPM get at most the burst (10) plus 10 a
// second. Only an upper bound is checked: a slow machine sends fewer.
func TestRealClockShortWindow(t *testing.T) {
	l := ratelimit.New(ratelimit.Options{Limits: ratelimit.Limits{RequestsPerMinute: 600}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				if _, err := l.Wait(ctx, 0); err != nil {
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if limit := 10 + int64(elapsed.Seconds()*10) + 1; n.Load() > limit {
		t.Fatalf("%d requests in %v at 600 RPM; at most %d allowed", n.Load(), elapsed, limit)
	}
	if n.Load() < 10 {
		t.Fatalf("%d requests; the burst alone is 10", n.Load())
	}
}

func ExampleLimiter_Wait() {
	// 120 requests a minute: a burst of 2, then one every half second.
	l := ratelimit.New(ratelimit.Options{Limits: ratelimit.Limits{RequestsPerMinute: 120}})
	start := time.Now()
	for range 3 {
		if _, err := l.Wait(context.Background(), 0); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(time.Since(start) >= 400*time.Millisecond)
	// Output: true
}
