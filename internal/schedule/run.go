package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/internal/metrics"
)

// PassFunc is one `relator run` pass for tick, the instant it was scheduled
// for. stop is closed when the pass must stop claiming new work and wind
// down (shutdown began); ctx is cancelled when what is still in flight must
// end (the grace period is over).
type PassFunc func(ctx context.Context, stop <-chan struct{}, tick time.Time) error

// Options configures Run.
type Options struct {
	// Spec is when passes run (see Parse). It also names the ticks in
	// schedule_ticks, so every replica must be given the same spec.
	Spec string
	// Pool is the database the lock and the ticks live in. Each pass holds
	// one of its connections for as long as it runs (the advisory lock is
	// that connection's) and /healthz pings through it, so it needs two
	// connections beyond what a pass uses at once.
	Pool *pgxpool.Pool
	// Pass is what runs on each tick this replica wins.
	Pass PassFunc
	// RunNow runs one pass at start, for a deployment that comes up after
	// it missed a tick; its tick is the start time. It takes the lock like
	// any tick, so replicas starting together still run one at a time.
	RunNow bool
	// Stop is closed by the caller on SIGINT or SIGTERM: no tick fires
	// after it, the running pass's stop channel is closed, and Run waits
	// for the pass to return, then returns nil. The caller cancels ctx
	// when its grace period is over, which ends the pass's in-flight work.
	// A nil Stop leaves ctx as the only way to stop Run.
	Stop <-chan struct{}
	// HTTPAddr, when not empty, is where /healthz and /metrics are served
	// while Run runs (DESIGN.md's RELATOR_HTTP_ADDR). Failing to bind it is
	// an error Run returns at once.
	HTTPAddr string
	// Listening, when not nil, is told the address the HTTP server bound:
	// for a caller or test that asked for port 0.
	Listening func(net.Addr)
	// Logger gets a line per tick: the pass's end or why it was skipped,
	// and when the next tick is due. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when not nil, counts skipped ticks and errors, holds the
	// next fire time, and is served on /metrics. Run does not count the
	// passes themselves: only the pass knows its outcome and totals, so
	// Pass reports them with ObservePass.
	Metrics *metrics.Metrics
	// Hostname and PID are recorded with each tick this replica runs, to
	// tell which replica ran it. Defaults: os.Hostname(), os.Getpid().
	Hostname string
	PID      int
	// LockName names the advisory lock (pg_try_advisory_lock(hashtext(…)))
	// that lets one pass run at a time across the replicas; they must share
	// it, and schedulers that may overlap must not. Default
	// "relator.schedule".
	LockName string
	// LockTimeout bounds how long a tick waits for a connection, the lock
	// and its tick's row before it counts as a database error (a database
	// that does not answer must not hold the tick forever). Default 10s.
	LockTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.LockName == "" {
		o.LockName = "relator.schedule"
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 10 * time.Second
	}
	return o
}

// Run fires the ticks of opts.Spec and runs opts.Pass on each tick that
// this replica wins, until opts.Stop is closed or ctx is done; it then
// waits for the running pass and returns nil. A tick is run by one replica
// only: the one that takes the advisory lock and records the tick first. A
// tick that comes while this process's previous pass still runs is skipped,
// not queued. A tick whose database work fails, or whose pass returns an
// error, is logged and counted, and the next tick tries again: Run returns
// an error only when it cannot start (a bad spec, no pool or pass, an HTTP
// address it cannot bind).
func Run(ctx context.Context, opts Options) error {
	sched, err := Parse(opts.Spec)
	if err != nil {
		return err
	}
	if opts.Pool == nil {
		return errors.New("schedule: no pool")
	}
	if opts.Pass == nil {
		return errors.New("schedule: no pass")
	}
	opts = opts.withDefaults()
	s := &scheduler{opts: opts, sched: sched, log: opts.Logger.With("spec", sched.String())}
	s.running.Store(true)

	if opts.HTTPAddr != "" {
		ln, err := net.Listen("tcp", opts.HTTPAddr)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		stopHTTP := s.serve(ln)
		defer stopHTTP()
	}

	stopping := make(chan struct{}) // closed once Stop is closed or ctx is done
	idle := make(chan struct{})     // closed while no pass runs; the loop's alone
	close(idle)
	start := func(tick time.Time) {
		select {
		case <-idle:
		default:
			s.skipped(tick, stillBusy)
			return
		}
		done := make(chan struct{})
		idle = done
		go func() {
			defer close(done)
			s.tick(ctx, stopping, tick)
		}()
	}

	now := time.Now()
	s.log.Info("schedule started", "next", sched.Next(now), "host", opts.Hostname, "pid", opts.PID, "run_now", opts.RunNow)
	if opts.RunNow {
		start(now)
	}
	last := now
	for stopped := false; !stopped; {
		next := sched.Next(later(time.Now(), last))
		if next.IsZero() {
			s.log.Warn("no tick due within five years: waiting for stop")
		}
		opts.Metrics.SetNextFire(next)
		var fire <-chan time.Time // nil, never ready, when no tick is due
		timer := time.NewTimer(time.Until(next))
		if !next.IsZero() {
			fire = timer.C
		}
		select {
		case <-opts.Stop:
			stopped = true
		case <-ctx.Done():
			stopped = true
		case <-fire:
			last = next
			start(next)
		}
		timer.Stop()
	}

	s.running.Store(false)
	close(stopping)
	opts.Metrics.SetNextFire(time.Time{})
	s.log.Info("schedule stopping: waiting for the running pass")
	<-idle
	s.log.Info("schedule stopped")
	return nil
}

// scheduler is one Run's state shared by its loop, its passes and its HTTP
// handlers.
type scheduler struct {
	opts    Options
	sched   Schedule
	log     *slog.Logger
	running atomic.Bool // false once shutdown began: /healthz says so
}

// tick claims tick and, when it is this replica's, runs the pass.
func (s *scheduler) tick(ctx context.Context, stopping <-chan struct{}, tick time.Time) {
	log := s.log.With("tick", tick)
	select {
	case <-stopping:
		return // shutdown began while the tick was starting
	default:
	}
	claimCtx, cancel := context.WithTimeout(ctx, s.opts.LockTimeout)
	c, why, err := claimTick(claimCtx, s.opts.Pool, s.opts.LockName,
		tickRow{s.sched.String(), tick, s.opts.Hostname, s.opts.PID})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			log.Info("tick abandoned: shutting down", "err", err)
			return
		}
		s.opts.Metrics.Error(metrics.ErrorDatabase)
		log.Error("tick failed", "err", err, "next", s.next())
		return
	}
	if why != runs {
		s.skipped(tick, why)
		return
	}

	log.Info("pass started")
	started := time.Now()
	err = s.pass(ctx, stopping, tick)
	took := time.Since(started).Round(time.Millisecond)
	if err != nil {
		s.opts.Metrics.Error(metrics.ErrorPass)
		log.Error("pass failed", "err", err, "duration", took)
	} else {
		log.Info("pass done", "duration", took)
	}
	if err := c.release(ctx); err != nil {
		s.opts.Metrics.Error(metrics.ErrorDatabase)
		log.Error("release lock", "err", err)
	}
	if next := s.next(); !next.IsZero() {
		select {
		case <-stopping:
		default:
			log.Info("next pass at "+next.Format(time.RFC3339), "next", next)
		}
	}
}

// pass runs the pass, a panic in it being an error like any other: one bad
// pass must not end the scheduler, nor leave the lock held.
func (s *scheduler) pass(ctx context.Context, stop <-chan struct{}, tick time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pass panicked: %v", r)
			s.log.Error("pass panicked", "tick", tick, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	return s.opts.Pass(ctx, stop, tick)
}

func (s *scheduler) skipped(tick time.Time, why skip) {
	s.opts.Metrics.Skipped()
	s.log.Info("skipped: "+string(why), "tick", tick, "next", s.next())
}

// next is the tick due after now.
func (s *scheduler) next() time.Time { return s.sched.Next(time.Now()) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
