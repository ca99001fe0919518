// Package ratelimit keeps a client under a model server's requests-per-minute
// and tokens-per-minute limits, so that a pass waits its turn on this side
// rather than being refused with 429s and retried.
//
// A Limiter is two token buckets (golang.org/x/time/rate) refilled at a
// steady rate: requests at RequestsPerMinute/60 a second, holding one
// second's worth at most (the burst: at least 1), since servers may enforce
// a per-minute limit per second; tokens at TokensPerMinute/60 a second,
// holding a full minute's worth, since one request may need thousands.
// Starting full, a Limiter lets through at most RPM/60 requests at once and
// then RPM/60 a second: RequestsPerMinute 60 is at most 61 requests in any
// first minute, 60 a minute after. The limits are per process.
package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the most a client sends one kind of endpoint per minute.
type Limits struct {
	// RequestsPerMinute caps requests. 0: no cap.
	RequestsPerMinute int
	// TokensPerMinute caps the tokens the requests are expected to use:
	// for chat, the prompt's tokens plus the output cap, as OpenAI's own
	// limiter reckons a request before it runs. 0: no cap.
	TokensPerMinute int
}

// Options configures New.
type Options struct {
	Limits
	// Now and Sleep are the clock; tests inject a fake one. Sleep must
	// return ctx's error if ctx ends first. Defaults: time.Now and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter holds requests back until the limits allow them. It is safe for
// concurrent use; a nil *Limiter lets everything through at once.
type Limiter struct {
	requests *rate.Limiter // nil: no cap
	tokens   *rate.Limiter // nil: no cap
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error

	mu          sync.Mutex
	pausedUntil time.Time
}

// New returns a limiter of opts.Limits. One that caps nothing still
// honours pauses.
func New(opts Options) *Limiter {
	l := &Limiter{now: opts.Now, sleep: opts.Sleep}
	if l.now == nil {
		l.now = time.Now
	}
	if l.sleep == nil {
		l.sleep = Sleep
	}
	if rpm := opts.RequestsPerMinute; rpm > 0 {
		l.requests = rate.NewLimiter(rate.Limit(float64(rpm)/60), max(1, rpm/60))
	}
	if tpm := opts.TokensPerMinute; tpm > 0 {
		l.tokens = rate.NewLimiter(rate.Limit(float64(tpm)/60), tpm)
	}
	return l
}

// Sleep waits d or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrDeadline is returned by Wait when ctx's deadline comes before the
// request could be sent.
var ErrDeadline = errors.New("rate limit: request would wait past its deadline")

// Wait blocks until one request expected to use tokens may be sent, and
// returns how long it waited. A request of more tokens than a minute's
// worth waits for a full minute's worth, which is all a bucket holds. If
// ctx ends first, what Wait reserved is given back.
func (l *Limiter) Wait(ctx context.Context, tokens int) (time.Duration, error) {
	if l == nil {
		return 0, ctx.Err()
	}
	start := l.now()
	if d := l.paused(start); d > 0 {
		if err := l.sleep(ctx, d); err != nil {
			return l.now().Sub(start), err
		}
	}
	now := l.now()
	var held []*rate.Reservation
	var delay time.Duration
	reserve := func(b *rate.Limiter, n int) {
		r := b.ReserveN(now, min(n, b.Burst()))
		held = append(held, r)
		delay = max(delay, r.DelayFrom(now))
	}
	if l.requests != nil {
		reserve(l.requests, 1)
	}
	if l.tokens != nil && tokens > 0 {
		reserve(l.tokens, tokens)
	}
	if delay > 0 {
		err := ErrDeadline
		if dl, ok := ctx.Deadline(); !ok || !now.Add(delay).After(dl) {
			err = l.sleep(ctx, delay)
		}
		if err != nil {
			at := l.now()
			for _, r := range held {
				r.CancelAt(at)
			}
			return at.Sub(start), err
		}
	}
	return l.now().Sub(start), nil
}

// PauseUntil holds every request back until t (extending, never shortening,
// a pause): the server said it is over a limit, and requests sent before
// then would only be refused.
func (l *Limiter) PauseUntil(t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
}

func (l *Limiter) paused(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil.Sub(now)
}
