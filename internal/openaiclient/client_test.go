package openaiclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/ratelimit"
)

// reply is one scripted answer of a fake server.
type reply struct {
	status int
	header map[string]string
	body   string
}

const okModels = `{"object":"list","data":[{"id":"m1","object":"model"}]}`

func errorBody(message, typ, code string) string {
	c := "null"
	if code != "" {
		c = `"` + code + `"`
	}
	return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":%s}}`, message, typ, c)
}

// server answers every request with the next scripted reply (the last one
// again once the script is spent) and records when each request came, by
// the clock now.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	script  []reply
	arrived []time.Time
	now     func() time.Time
}

func newServer(t *testing.T, now func() time.Time, script ...reply) *server {
	t.Helper()
	s := &server{script: script, now: now}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.arrived = append(s.arrived, s.now())
		rp := s.script[min(len(s.arrived), len(s.script))-1]
		s.mu.Unlock()
		for k, v := range rp.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		if rp.status != 0 {
			w.WriteHeader(rp.status)
		}
		io.WriteString(w, rp.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrived...)
}

// clock is a fake clock whose Sleep records the wait and advances it.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(max(d, 0))
	return nil
}

func (c *clock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

var quiet = slog.New(slog.DiscardHandler)

// fakeTime is a client of srv on the fake clock c, without jitter.
func fakeTime(srv *server, c *clock, opts openaiclient.Options) *openai.Client {
	opts.BaseURL, opts.APIKey, opts.Logger = srv.URL, "k", quiet
	opts.Now, opts.Sleep, opts.Jitter = c.Now, c.Sleep, func() float64 { return 0 }
	return openaiclient.New(opts)
}

func TestRetryAfterMsIsHonoured(t *testing.T) {
	c := newClock()
	srv := newServer(t, c.Now,
		reply{status: 429, header: map[string]string{"retry-after-ms": "3000", "Retry-After": "1"}, body: errorBody("Rate limit reached", "requests", "rate_limit_exceeded")},
		reply{body: okModels})
	if _, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := srv.requests()
	if len(at) != 2 {
		t.Fatalf("%d requests; want the 429 and one retry", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 3*time.Second {
		t.Fatalf("retried %v after a retry-after-ms of 3000", gap)
	}
}

// TestRetryAfterMsRealClock is the same on the real clock, with a wait
// short enough for a test: only a lower bound is checked.
func TestRetryAfterMsRealClock(t *testing.T) {
	srv := newServer(t, time.Now,
		reply{status: 429, header: map[string]string{"retry-after-ms": "250"}, body: errorBody("slow down", "requests", "rate_limit_exceeded")},
		reply{body: okModels})
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet})
	if _, err := client.ListModels(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := srv.requests()
	if len(at) != 2 || at[1].Sub(at[0]) < 250*time.Millisecond {
		t.Fatalf("requests at %v; want a retry no sooner than 250ms after the 429", at)
	}
}

func TestServerWaits(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration // the wait before the retry
	}{
		{"retry-after-ms", 429, map[string]string{"retry-after-ms": "20"}, 20 * time.Millisecond},
		{"retry-after-ms fraction", 503, map[string]string{"retry-after-ms": "1500.5"}, 1500*time.Millisecond + 500*time.Microsecond},
		{"retry-after-ms first", 429, map[string]string{"retry-after-ms": "100", "Retry-After": "7", "x-ratelimit-reset-requests": "9s"}, 100 * time.Millisecond},
		{"Retry-After seconds", 429, map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{"Retry-After fraction", 503, map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"Retry-After date", 503, map[string]string{"Retry-After": now.Add(4 * time.Second).Format(http.TimeFormat)}, 4 * time.Second},
		{"Retry-After past date", 503, map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{"reset requests exhausted", 429, map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s",
			"x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "149984"}, time.Second},
		{"reset tokens exhausted", 429, map[string]string{"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1m30.5s",
			"x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "0"}, 90*time.Second + 500*time.Millisecond},
		{"reset unsaid which: the later", 429, map[string]string{"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "6s"}, 6 * time.Second},
		{"reset tokens only", 429, map[string]string{"x-ratelimit-reset-tokens": "20ms"}, 20 * time.Millisecond},
		{"capped", 429, map[string]string{"x-ratelimit-reset-tokens": "6m0s"}, 2 * time.Minute},
		{"resets are a 429's only", 503, map[string]string{"x-ratelimit-reset-requests": "9s"}, 250 * time.Millisecond},
		{"garbage: backoff", 429, map[string]string{"retry-after-ms": "soon", "Retry-After": "later", "x-ratelimit-reset-requests": "-1s"}, 250 * time.Millisecond},
		{"none: backoff", 500, nil, 250 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			c.t = now
			srv := newServer(t, c.Now, reply{status: tc.status, header: tc.header, body: errorBody("busy", "server_error", "")}, reply{body: okModels})
			if _, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s := c.slept(); len(s) != 1 || s[0] != tc.want {
				t.Fatalf("slept %v; want [%v]", s, tc.want)
			}
		})
	}
}

func TestRetriesWhatMaySucceed(t *testing.T) {
	for _, status := range []int{408, 409, 429, 500, 502, 503, 504} {
		c := newClock()
		srv := newServer(t, c.Now, reply{status: status, body: errorBody("try again", "server_error", "")}, reply{body: okModels})
		if _, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background()); err != nil {
			t.Errorf("%d then 200: %v", status, err)
		}
		if n := len(srv.requests()); n != 2 {
			t.Errorf("%d: %d requests; want 2", status, n)
		}
	}
}

func TestBackoffIsExponentialWithJitter(t *testing.T) {
	for _, tc := range []struct {
		jitter float64
		want   []time.Duration
	}{
		// Half of 500ms·2ⁿ at least, all of it at most, capped at 30s.
		{0, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second}},
		{0.5, []time.Duration{375 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 12 * time.Second, 22500 * time.Millisecond, 22500 * time.Millisecond}},
	} {
		c := newClock()
		srv := newServer(t, c.Now, reply{status: 500, body: errorBody("down", "server_error", "")})
		opts := openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, MaxRetries: 8,
			Now: c.Now, Sleep: c.Sleep, Jitter: func() float64 { return tc.jitter }}
		_, err := openaiclient.New(opts).ListModels(context.Background())
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 500 {
			t.Fatalf("err %v; want the server's 500 after the retries", err)
		}
		if got := c.slept(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("jitter %v: slept %v; want %v", tc.jitter, got, tc.want)
		}
		if n := len(srv.requests()); n != 9 {
			t.Errorf("%d requests; want 1 + 8 retries", n)
		}
	}
}

func TestGivesUpWithTheServersError(t *testing.T) {
	c := newClock()
	srv := newServer(t, c.Now, reply{status: 503, body: errorBody("slow down", "server_error", "")})
	_, err := fakeTime(srv, c, openaiclient.Options{MaxRetries: 2}).ListModels(context.Background())
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 503 || apiErr.Message != "slow down" {
		t.Fatalf("err = %v; want the server's 503 API error", err)
	}
	if errors.Is(err, openaiclient.ErrFatal) {
		t.Fatal("a server error that outlasts the retries is not fatal: the next pass may do better")
	}
	if n := len(srv.requests()); n != 3 {
		t.Fatalf("%d requests; want 1 + 2 retries", n)
	}
	srv = newServer(t, c.Now, reply{status: 500, body: "<html>oops</html>"})
	if _, err := fakeTime(srv, c, openaiclient.Options{MaxRetries: -1}).ListModels(context.Background()); err == nil || len(srv.requests()) != 1 {
		t.Fatalf("MaxRetries -1: err %v after %d requests; want one try", err, len(srv.requests()))
	}
}

func TestExhaustedQuotaIsFatalAndNotRetried(t *testing.T) {
	c := newClock()
	msg := "You exceeded your current quota, please check your plan and billing details."
	srv := newServer(t, c.Now, reply{status: 429, header: map[string]string{"Retry-After": "1"}, body: errorBody(msg, "insufficient_quota", "insufficient_quota")})
	_, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background())
	if !errors.Is(err, openaiclient.ErrQuota) || !errors.Is(err, openaiclient.ErrFatal) {
		t.Fatalf("err %v; want ErrQuota, which is ErrFatal", err)
	}
	var fatal *openaiclient.FatalError
	if !errors.As(err, &fatal) || fatal.StatusCode != 429 || fatal.Code != "insufficient_quota" || fatal.Message != msg {
		t.Fatalf("err %#v; want a *FatalError with the status, code and message", err)
	}
	if want := "model API quota exhausted (HTTP 429 insufficient_quota): " + msg; err.Error() != want {
		t.Fatalf("err %q;\nwant %q", err, want)
	}
	if n := len(srv.requests()); n != 1 || len(c.slept()) != 0 {
		t.Fatalf("%d requests, slept %v: an exhausted quota is not retried", n, c.slept())
	}
}

func TestClientErrorsAreFatal(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{400, errorBody("Invalid schema for response_format 'relations'", "invalid_request_error", "")},
		{401, errorBody("Incorrect API key provided: sk-x.", "invalid_request_error", "invalid_api_key")},
		{403, errorBody("Project does not have access to model gpt-5", "invalid_request_error", "model_not_found")},
		{404, `{"error":{"message":"model \"llama3\" not found, try pulling it first","type":"not_found_error"}}`},
		{404, `404 page not found`},
		{422, `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`},
	} {
		c := newClock()
		srv := newServer(t, c.Now, reply{status: tc.status, body: tc.body})
		_, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background())
		var fatal *openaiclient.FatalError
		if !errors.Is(err, openaiclient.ErrFatal) || errors.Is(err, openaiclient.ErrQuota) || !errors.As(err, &fatal) || fatal.StatusCode != tc.status {
			t.Errorf("%d: err %v; want a fatal error, not the quota", tc.status, err)
		}
		if n := len(srv.requests()); n != 1 {
			t.Errorf("%d: %d requests; want no retry", tc.status, n)
		}
		var apiErr *openai.APIError
		if strings.HasPrefix(tc.body, `{"error"`) && (!errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tc.status) {
			t.Errorf("%d: err %v; want it to be an *openai.APIError too", tc.status, err)
		}
	}
}

func TestErrorsOfOneRequestAreNotFatal(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{400, errorBody("This model's maximum context length is 128000 tokens.", "invalid_request_error", "context_length_exceeded")},
		{400, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}`},
		{400, `{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.","type":"BadRequestError","code":400}`},
		{413, `request entity too large`},
	} {
		c := newClock()
		srv := newServer(t, c.Now, reply{status: tc.status, body: tc.body})
		_, err := fakeTime(srv, c, openaiclient.Options{}).ListModels(context.Background())
		if err == nil || errors.Is(err, openaiclient.ErrFatal) {
			t.Errorf("%d %s: err %v; want an error of this request alone", tc.status, tc.body, err)
		}
		if n := len(srv.requests()); n != 1 {
			t.Errorf("%d: %d requests; want no retry", tc.status, n)
		}
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // the connection drops before an answer
			return
		}
		io.WriteString(w, okModels)
	}))
	defer srv.Close()
	c := newClock()
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: c.Now, Sleep: c.Sleep})
	if _, err := client.ListModels(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d requests; want the dropped one and its retry", calls.Load())
	}
}

// TestBodyCutMidwayIsRetried: a 200 whose body breaks off (a reset, a
// proxy giving up) is retried like a connection dropped before its answer,
// instead of failing the request as a malformed answer.
func TestBodyCutMidwayIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				len(okModels), okModels[:len(okModels)/2])
			buf.Flush()
			conn.Close()
			return
		}
		io.WriteString(w, okModels)
	}))
	defer srv.Close()
	c := newClock()
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: c.Now, Sleep: c.Sleep})
	if _, err := client.ListModels(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d requests; want the cut one and its retry", calls.Load())
	}
}

func TestTimeoutIsPerAttempt(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // stalls past the client's timeout
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, okModels)
	}))
	defer srv.Close()
	c := newClock()
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: c.Now, Sleep: c.Sleep,
		Timeout: 100 * time.Millisecond})
	if _, err := client.ListModels(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d requests; want the stalled one and its retry", calls.Load())
	}
}

func TestCancelledWhileWaitingToRetry(t *testing.T) {
	srv := newServer(t, time.Now, reply{status: 429, header: map[string]string{"Retry-After": "60"}, body: errorBody("busy", "requests", "")})
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := client.ListModels(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want the context's", err)
	}
}

// chatServer answers chat completions and embeddings; it counts both.
func chatAndEmbeddings(t *testing.T, now func() time.Time, first reply) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var log []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		log = append(log, fmt.Sprintf("%s@%s", r.URL.Path, now().Format("15:04:05.000")))
		n := len(log)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n == 1 && first.status != 0 {
			for k, v := range first.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(first.status)
			io.WriteString(w, first.body)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.5]}],"usage":{"prompt_tokens":3,"total_tokens":3}}`)
			return
		}
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{}"}}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &log
}

func chat(ctx context.Context, c *openai.Client) error {
	_, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	return err
}

func embed(ctx context.Context, c *openai.Client) error {
	_, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{Model: "text-embedding-3-small", Input: []string{"hi"}})
	return err
}

func TestLimitsPerEndpoint(t *testing.T) {
	c := newClock()
	srv, _ := chatAndEmbeddings(t, c.Now, reply{})
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: c.Now, Sleep: c.Sleep,
		Chat: ratelimit.Limits{RequestsPerMinute: 60, TokensPerMinute: 6000}})
	ctx := context.Background()
	// Embeddings are not limited; chat is: 60 a minute, a burst of one.
	for range 5 {
		if err := embed(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.slept()) != 0 {
		t.Fatalf("embeddings waited %v; they have no limits", c.slept())
	}
	for range 3 {
		if err := chat(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(c.slept()); got != "[1s 1s]" {
		t.Fatalf("three chat calls at 60 RPM slept %s; want [1s 1s]", got)
	}
	// Tokens, as WithTokens states them: a full bucket at once, then 100 a
	// second.
	c = newClock()
	client = openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: c.Now, Sleep: c.Sleep,
		Chat: ratelimit.Limits{TokensPerMinute: 6000}})
	if err := chat(openaiclient.WithTokens(ctx, 6000), client); err != nil {
		t.Fatal(err)
	}
	if err := chat(openaiclient.WithTokens(ctx, 3000), client); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.slept()); got != "[30s]" {
		t.Fatalf("6000 then 3000 tokens at 6000 TPM slept %s; want [30s]", got)
	}
}

// TestRateLimitAnswerPausesTheEndpoint: while one request waits out a 429's
// Retry-After, other requests to the same endpoint wait too instead of
// collecting 429s of their own; requests to another endpoint do not.
func TestRateLimitAnswerPausesTheEndpoint(t *testing.T) {
	var mu sync.Mutex
	var sleeps []time.Duration
	firstSleep := make(chan struct{})
	release := make(chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, d)
		n := len(sleeps)
		mu.Unlock()
		if n == 1 {
			close(firstSleep)
			<-release
		}
		return nil
	}
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now } // frozen: the pause stays ahead
	srv, log := chatAndEmbeddings(t, clock, reply{status: 429, header: map[string]string{"Retry-After": "5"}, body: errorBody("Rate limit reached", "tokens", "rate_limit_exceeded")})
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "k", Logger: quiet, Now: clock, Sleep: sleep,
		Jitter: func() float64 { return 0 }})
	ctx := context.Background()
	done := make(chan error)
	go func() { done <- chat(ctx, client) }()
	<-firstSleep // the first call got its 429 and waits 5s
	if err := embed(ctx, client); err != nil {
		t.Fatal(err)
	}
	second := make(chan error)
	go func() { second <- chat(ctx, client) }()
	// The second chat call waits for the pause before sending anything.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(sleeps)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second chat call never waited")
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	pause := sleeps[1]
	mu.Unlock()
	if pause != 5*time.Second {
		t.Fatalf("the second call waited %v; want the first's 5s", pause)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if len(*log) != 4 || !strings.HasPrefix((*log)[1], "/embeddings") {
		t.Fatalf("requests %v; want the 429, the embeddings request during the pause, then both chat calls", *log)
	}
}

func ExampleNew() {
	// A server that is over its rate limit once, then answers.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("retry-after-ms", "20")
			http.Error(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"}]}`)
	}))
	defer srv.Close()

	client := openaiclient.New(openaiclient.Options{
		BaseURL: srv.URL, APIKey: "sk-…",
		Chat:   ratelimit.Limits{RequestsPerMinute: 500, TokensPerMinute: 200_000},
		Logger: slog.New(slog.DiscardHandler),
	})
	models, err := client.ListModels(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(models.Models[0].ID, "after", calls.Load(), "requests")
	// Output: gpt-4o-mini after 2 requests
}
