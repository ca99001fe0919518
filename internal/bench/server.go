// Package bench measures relator: the whole pipeline against a simulated
// OpenAI-compatible server (or offline), over synthetic archives
// (internal/synth), and the prior-only nearest-neighbour search alone.
// `relator bench` prints what it measures; the figures of BENCHMARKS.md
// come from it.
package bench

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relator/relator/embeddings"
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

// Server is an in-process OpenAI-compatible server: /v1/embeddings and
// /v1/chat/completions. Chat answers relate "Event 1" to the New Event.
type Server struct {
	*httptest.Server
	opts       ServerOptions
	embedder   *embeddings.Offline
	Embeddings atomic.Int64 // embedding requests served
	Chats      atomic.Int64 // chat calls answered 200
	Limited    atomic.Int64 // chat calls answered 429

	mu  sync.Mutex
	rng *rand.Rand
}

// NewServer starts a simulated server on loopback; Close stops it.
func NewServer(opts ServerOptions) *Server {
	if opts.Dimensions <= 0 {
		opts.Dimensions = 1024
	}
	s := &Server{opts: opts, embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: opts.Dimensions}),
		rng: rand.New(rand.NewPCG(1, 2))}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings", s.embed)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.Server = httptest.NewServer(mux)
	return s
}

// URL is the base URL to give an OpenAI client.
func (s *Server) BaseURL() string { return s.Server.URL + "/v1" }

func (s *Server) float() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	s.Embeddings.Add(1)
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	vecs, _ := s.embedder.Embed(r.Context(), req.Input)
	data := make([]map[string]any, len(vecs))
	tokens := 0
	for i, v := range vecs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
		tokens += len(req.Input[i]) / 4
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	if s.opts.RateLimitShare > 0 && s.float() < s.opts.RateLimitShare {
		s.Limited.Add(1)
		w.Header().Set("Retry-After-Ms", "50")
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"message":"rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, http.StatusTooManyRequests)
		return
	}
	d := s.opts.Latency
	if s.opts.Jitter > 0 {
		d += time.Duration((s.float()*2 - 1) * float64(s.opts.Jitter))
	}
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	s.Chats.Add(1)
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(m.Content) / 4
	}
	content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,` +
		`"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
	json.NewEncoder(w).Encode(map[string]any{"id": "bench", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": 30, "total_tokens": prompt + 30}})
}
