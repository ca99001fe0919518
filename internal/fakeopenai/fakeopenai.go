// Package fakeopenai is an in-process OpenAI-compatible model server for
// tests and `relator bench`: /v1/embeddings (the offline embedder's vectors, so that retrieval
// means something) and /v1/chat/completions (relating "Event 1" to the New
// Event), either of which can be told to misbehave the ways real servers
// do — rate limits, server errors, hangs, connections reset mid-answer,
// replies that break the schema, vectors of the wrong shape — call by call.
package fakeopenai

import (
	"bytes"
	"encoding/json"

	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relator/relator/embeddings"
)

// Fault is how the server answers one request.
type Fault string

// Faults of any request.
const (
	None Fault = "" // a good answer
	// RateLimited is a 429 naming its wait (Retry-After: 0 and
	// retry-after-ms: 50).
	RateLimited Fault = "rate-limited"
	// RateLimitedBare is a 429 naming no wait: the client backs off.
	RateLimitedBare Fault = "rate-limited-bare"
	// Quota is a 429 insufficient_quota: no retry helps.
	Quota     Fault = "quota"
	Status500 Fault = "500"
	Status502 Fault = "502"
	Status503 Fault = "503"
	// Hang holds the request until the client gives up.
	Hang Fault = "hang"
	// ResetMidBody sends a 200's headers and half its body, then resets
	// the connection.
	ResetMidBody Fault = "reset-mid-body"
)

// Faults of a chat reply (a 200 whose content or choices are wrong).
const (
	TruncatedJSON         Fault = "truncated-json" // content cut mid-object, finish_reason stop
	SchemaBroken          Fault = "schema-broken"  // JSON, but not {"relations": [...]}
	UnknownCandidate      Fault = "unknown-candidate"
	SameCandidateTwice    Fault = "same-candidate-twice"
	SelfLink              Fault = "self-link" // relates the New Event to itself (event 0)
	WrongEventInRationale Fault = "wrong-event-in-rationale"
	NoChoices             Fault = "no-choices"
	Refusal               Fault = "refusal"
	ContentFilter         Fault = "content-filter"
)

// Faults of an embeddings answer.
const (
	WrongDimension Fault = "wrong-dimension" // the last vector half as long
	WrongCount     Fault = "wrong-count"     // one vector fewer than inputs
	NaNVector      Fault = "nan-vector"      // NaN in the first vector, as Python writes it
	ZeroVector     Fault = "zero-vector"     // the first vector all zeros
)

// Schedule decides the fault of the n-th request of an endpoint (from 1).
type Schedule func(n int64) Fault

// Always is every request's fault.
func Always(f Fault) Schedule { return func(int64) Fault { return f } }

// First is the fault of the first n requests; the others are answered well.
func First(n int64, f Fault) Schedule {
	return func(i int64) Fault {
		if i <= n {
			return f
		}
		return None
	}
}

// Options shapes a Server. The zero value answers every request well at
// once.
type Options struct {
	// Latency is how long each chat call takes before its answer, as a
	// real model's would; rate limits and server errors are answered at
	// once, as real servers do.
	Latency time.Duration
	// Jitter spreads it: each call takes Latency ± up to Jitter (seeded,
	// so a run's sequence of latencies repeats).
	Jitter time.Duration
	// Dimensions of the vectors served. Default 64.
	Dimensions int
	// Chat and Embed decide each request's fault; nil: none.
	Chat, Embed Schedule
	// OnChat is called as the n-th chat call arrives, and OnAnswer once its
	// good answer has been written and flushed to the client: a test can
	// kill the client between the answer and its write. OnEmbed is called
	// as the n-th embeddings request arrives. They run on the request's
	// goroutine and must be safe for concurrent use.
	OnChat, OnAnswer, OnEmbed func(n int64)
}

// Server is the fake; its counters may be read at any time.
type Server struct {
	*httptest.Server
	opts     Options
	embedder *embeddings.Offline
	mu       sync.Mutex
	rng      *rand.Rand // of the jitter

	Chats    atomic.Int64 // chat calls received
	Answers  atomic.Int64 // chat calls answered 200 with a good reply
	Embeds   atomic.Int64 // embeddings requests received
	InFlight atomic.Int64 // chat calls being answered now
}

// New starts a server on loopback; it is closed by Close.
func New(opts Options) *Server {
	if opts.Dimensions <= 0 {
		opts.Dimensions = 64
	}
	s := &Server{opts: opts, embedder: embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: opts.Dimensions}),
		rng: rand.New(rand.NewPCG(1, 2))}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings", s.embed)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.Server = httptest.NewServer(mux)
	return s
}

// BaseURL is what to give an OpenAI client (OPENAI_BASE_URL).
func (s *Server) BaseURL() string { return s.URL + "/v1" }

func fault(sched Schedule, n int64) Fault {
	if sched == nil {
		return None
	}
	return sched(n)
}

// failed answers f if it is a fault of any request, and says whether it
// did.
func failed(w http.ResponseWriter, r *http.Request, f Fault, body []byte) bool {
	switch f {
	case RateLimited:
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Retry-After-Ms", "50")
		apiError(w, http.StatusTooManyRequests, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
	case RateLimitedBare:
		apiError(w, http.StatusTooManyRequests, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
	case Quota:
		apiError(w, http.StatusTooManyRequests, "You exceeded your current quota, please check your plan and billing details.",
			"insufficient_quota", "insufficient_quota")
	case Status500, Status502, Status503:
		code, _ := strconv.Atoi(string(f))
		apiError(w, code, "The server had an error while processing your request.", "server_error", "")
	case Hang:
		<-r.Context().Done()
	case ResetMidBody:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return true
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n")
		buf.Write(body[:len(body)/2])
		buf.Flush()
		if tcp, ok := conn.(*net.TCPConn); ok {
			tcp.SetLinger(0) // a reset, not an orderly close
		}
		conn.Close()
	default:
		return false
	}
	return true
}

func apiError(w http.ResponseWriter, status int, message, typ, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": message, "type": typ, "code": code}})
}

func (s *Server) embed(w http.ResponseWriter, r *http.Request) {
	n := s.Embeds.Add(1)
	if s.opts.OnEmbed != nil {
		s.opts.OnEmbed(n)
	}
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "bad request: "+err.Error(), "invalid_request_error", "")
		return
	}
	f := fault(s.opts.Embed, n)
	vecs, _ := s.embedder.Embed(r.Context(), req.Input)
	data := make([]map[string]any, len(vecs))
	tokens := 0
	for i, v := range vecs {
		var vec any = v
		switch {
		case i == len(vecs)-1 && f == WrongDimension:
			vec = v[:len(v)/2]
		case i == 0 && f == ZeroVector:
			vec = make([]float32, len(v))
		case i == 0 && f == NaNVector:
			w := slices.Clone(v)
			w[0] = nanMark
			vec = w
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vec}
		tokens += len(req.Input[i])/4 + 1
	}
	if f == WrongCount && len(data) > 0 {
		data = data[:len(data)-1]
	}
	body, _ := json.Marshal(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
	if f == NaNVector {
		// JSON has no NaN, but Python's json module writes one as a bare
		// NaN, which is what a server that computed one sends.
		body = bytes.Replace(body, []byte(nanText), []byte("NaN"), 1)
	}
	if failed(w, r, f, body) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// nanMark stands in for NaN until the body is written; no offline vector
// has it (they are unit length).
const (
	nanMark float32 = 12345.5
	nanText         = "12345.5"
)

// Good is the content of a good chat reply: "Event 1" continues into the
// New Event.
const Good = `{"relations":[{"event":1,"type":"continuation","confidence":0.7,` +
	`"rationale":"Event 1 reports the step before. The New Event continues it."}]}`

// immediate are the faults a server answers before any model work.
var immediate = map[Fault]bool{RateLimited: true, RateLimitedBare: true, Quota: true,
	Status500: true, Status502: true, Status503: true}

// latency is one chat call's: Latency ± up to Jitter.
func (s *Server) latency() time.Duration {
	if s.opts.Jitter <= 0 {
		return s.opts.Latency
	}
	s.mu.Lock()
	f := s.rng.Float64()
	s.mu.Unlock()
	return max(s.opts.Latency+time.Duration((f*2-1)*float64(s.opts.Jitter)), 0)
}

// replies are the chat contents of the reply faults.
var replies = map[Fault]string{
	TruncatedJSON: `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 rep`,
	SchemaBroken:  `{"links":[{"candidate":"one","kind":"continuation"}]}`,
	UnknownCandidate: `{"relations":[{"event":99,"type":"causes","confidence":0.9,` +
		`"rationale":"Event 99 caused it. The New Event follows."}]}`,
	SameCandidateTwice: `{"relations":[{"event":1,"type":"continuation","confidence":0.7,` +
		`"rationale":"Event 1 reports the step before. The New Event continues it."},` +
		`{"event":1,"type":"causes","confidence":0.6,"rationale":"Event 1 caused the New Event."}]}`,
	SelfLink: `{"relations":[{"event":0,"type":"duplicate","confidence":1,` +
		`"rationale":"Event 0 is the New Event itself."}]}`,
	WrongEventInRationale: `{"relations":[{"event":1,"type":"continuation","confidence":0.7,` +
		`"rationale":"Event 2 reports the step before. The New Event continues it."}]}`,
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	n := s.Chats.Add(1)
	s.InFlight.Add(1)
	defer s.InFlight.Add(-1)
	if s.opts.OnChat != nil {
		s.opts.OnChat(n)
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "bad request: "+err.Error(), "invalid_request_error", "")
		return
	}
	f := fault(s.opts.Chat, n)
	if immediate[f] && failed(w, r, f, nil) {
		return
	}
	select {
	case <-time.After(s.latency()):
	case <-r.Context().Done():
		return
	}
	prompt := 0
	for _, m := range req.Messages {
		prompt += len(m.Content)/4 + 1
	}
	message := map[string]any{"role": "assistant", "content": Good}
	finish := "stop"
	if content, ok := replies[f]; ok {
		message["content"] = content
	}
	switch f {
	case Refusal:
		message["content"], message["refusal"] = nil, "I'm sorry, I can't help with that."
	case ContentFilter:
		message["content"], finish = "", "content_filter"
	}
	choices := []map[string]any{{"index": 0, "finish_reason": finish, "message": message}}
	if f == NoChoices {
		choices = []map[string]any{}
	}
	body, _ := json.Marshal(map[string]any{"id": "chatcmpl-" + strconv.FormatInt(n, 10), "object": "chat.completion",
		"created": time.Now().Unix(), "model": req.Model, "choices": choices,
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": 30, "total_tokens": prompt + 30}})
	if failed(w, r, f, body) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	if f == None {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		s.Answers.Add(1)
		if s.opts.OnAnswer != nil {
			s.opts.OnAnswer(n)
		}
	}
}
