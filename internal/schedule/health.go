package schedule

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// pingTimeout bounds /healthz's database ping: a probe that waits longer
// than this for the database learns it is unhealthy.
const pingTimeout = 2 * time.Second

// serve serves /healthz and /metrics on ln until the returned function,
// which shuts the server down, is called.
func (s *scheduler) serve(ln net.Listener) (shutdown func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.opts.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	s.log.Info("http listening", "addr", ln.Addr().String())
	if s.opts.Listening != nil {
		s.opts.Listening(ln.Addr())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}
}

// healthz answers 200 "ok" while the scheduler runs and its database
// answers a ping within pingTimeout, and 503 with the reason otherwise.
func (s *scheduler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.running.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("stopping"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
	defer cancel()
	if err := s.opts.Pool.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database: " + err.Error()))
		return
	}
	w.Write([]byte("ok"))
}
