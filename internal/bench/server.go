// Package bench measures relator: the whole pipeline against a simulated
// OpenAI-compatible server (or offline), over synthetic archives
// (internal/synth), and the prior-only nearest-neighbour search alone.
// `relator bench` prints what it measures; the figures of BENCHMARKS.md
// come from it.
package bench

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relator/relator/internal/fakeopenai"
)

// ServerOptions shapes the simulated model server.
type ServerOptions struct {
	// Latency is how long each chat call takes, as a real model's would.
	Latency time.Duration
	// Jitter spreads it: each call takes Latency ± up to Jitter.
	Jitter time.Duration
	// RateLimitShare is the share of chat calls answered 429 with a short
	// Retry-After, as a provider at its rate limit does.
	RateLimitShare float64
	// Dimensions of the embeddings served (offline feature hashing, so
	// that retrieval means something). Default 1024.
	Dimensions int
}

// Server is an in-process OpenAI-compatible server (internal/fakeopenai):
// /v1/embeddings and /v1/chat/completions. Chat answers relate "Event 1"
// to the New Event.
type Server struct {
	*fakeopenai.Server
	Embeddings *atomic.Int64 // embedding requests served
	Chats      *atomic.Int64 // chat calls answered 200
	Limited    atomic.Int64  // chat calls answered 429
}

// NewServer starts a simulated server on loopback; Close stops it.
func NewServer(opts ServerOptions) *Server {
	if opts.Dimensions <= 0 {
		opts.Dimensions = 1024
	}
	s := &Server{}
	fake := fakeopenai.Options{Latency: opts.Latency, Jitter: opts.Jitter, Dimensions: opts.Dimensions}
	if opts.RateLimitShare > 0 {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(3, 4))
		fake.Chat = func(int64) fakeopenai.Fault {
			mu.Lock()
			limited := rng.Float64() < opts.RateLimitShare
			mu.Unlock()
			if !limited {
				return fakeopenai.None
			}
			s.Limited.Add(1)
			return fakeopenai.RateLimited
		}
	}
	s.Server = fakeopenai.New(fake)
	s.Embeddings, s.Chats = &s.Server.Embeds, &s.Server.Answers
	return s
}
