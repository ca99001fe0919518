package schedule_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relator/relator/internal/metrics"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/schedule"
)

// serving starts Run with its HTTP server on a free loopback port and
// returns the replica and the server's base URL.
func serving(t *testing.T, opts schedule.Options) (*replica, string) {
	t.Helper()
	addrs := make(chan net.Addr, 1)
	opts.HTTPAddr = "127.0.0.1:0"
	opts.Listening = func(a net.Addr) { addrs <- a }
	if opts.Pass == nil {
		opts.Pass = func(context.Context, <-chan struct{}, time.Time) error { return nil }
	}
	if opts.Logger == nil {
		opts.Logger = newLogs(t).logger("a")
	}
	r := start(t, opts)
	select {
	case a := <-addrs:
		return r, "http://" + a.String()
	case err := <-r.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the HTTP server did not start")
	}
	return nil, ""
}

// get returns the status and body of url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// /healthz is 200 while the scheduler runs and its database answers, 503
// once the database is gone; /metrics serves the metrics; the server stops
// when Run returns.
func TestHealthzAndMetrics(t *testing.T) {
	url := pgtest.NewDatabase(t)
	m := metrics.New()
	daily, err := schedule.Parse("@daily")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	r, base := serving(t, schedule.Options{Spec: "@daily", Pool: openPool(t, url), Metrics: m})

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, name := range []string{"relator_passes_total", "relator_errors_total", "relator_pass_duration_seconds",
		"relator_pending_work", "relator_next_fire_timestamp_seconds", "go_goroutines"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	next := time.Unix(int64(value(t, m, "relator_next_fire_timestamp_seconds", "", "")), 0)
	if a, b := daily.Next(before), daily.Next(time.Now()); !next.Equal(a) && !next.Equal(b) {
		t.Errorf("next fire %s, want the coming midnight %s", next.UTC(), a)
	}

	serverExec(t, `DROP DATABASE `+databaseName(t, url)+` WITH (FORCE)`)
	code, body = get(t, base+"/healthz")
	if code != 503 || !strings.HasPrefix(body, "database: ") {
		t.Errorf("/healthz with the database dropped = %d %q, want 503 database: …", code, body)
	}

	if err := r.shutdown(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the HTTP server still answers after Run returned")
	}
}

func TestHealthzWithThePoolClosed(t *testing.T) {
	pool := openPool(t, pgtest.NewDatabase(t))
	_, base := serving(t, schedule.Options{Spec: "@daily", Pool: pool})
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d before the pool closed", code)
	}
	pool.Close()
	if code, body := get(t, base+"/healthz"); code != 503 || !strings.Contains(body, "closed") {
		t.Errorf("/healthz with the pool closed = %d %q, want 503 naming the closed pool", code, body)
	}
	// Without Metrics there is nothing to serve on /metrics.
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics without Metrics = %d, want 404", code)
	}
}

// While Run waits for its last pass after Stop, /healthz says it is
// stopping, so that a load balancer or probe stops counting on it.
func TestHealthzWhileStopping(t *testing.T) {
	started := make(chan struct{})
	r, base := serving(t, schedule.Options{
		Spec:   "@daily",
		RunNow: true,
		Pool:   pgtest.New(t),
		Pass: func(ctx context.Context, stop <-chan struct{}, tick time.Time) error {
			close(started)
			<-ctx.Done()
			return nil
		},
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no pass")
	}
	r.closeStop()
	waitFor(t, 10*time.Second, "/healthz 503 stopping", func() bool {
		code, body := get(t, base+"/healthz")
		return code == 503 && body == "stopping"
	})
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestHTTPBindErrorIsAStartError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var ran atomic.Bool
	err = schedule.Run(context.Background(), schedule.Options{
		Spec:     "@daily",
		RunNow:   true,
		Pool:     pgtest.New(t),
		Pass:     func(context.Context, <-chan struct{}, time.Time) error { ran.Store(true); return nil },
		HTTPAddr: taken.Addr().String(),
		Logger:   newLogs(t).logger("a"),
	})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Run = %v, want the bind error", err)
	}
	if ran.Load() {
		t.Error("a pass ran though Run could not start")
	}
}
