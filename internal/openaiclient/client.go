// Package openaiclient builds the go-openai client that every model call of
// relator goes through, embeddings and chat alike, and the HTTP plumbing
// under it: client-side rate limits, retries with backoff, and errors that
// say whether a pass can go on.
//
// Each request first waits for its endpoint's limiter (internal/ratelimit:
// requests and tokens per minute, chat and embeddings apart), then is sent
// with a timeout per attempt. 408, 409, 429 and 5xx answers and network
// errors are retried with exponential backoff and jitter, or after the wait
// the server asks for (retry-after-ms, Retry-After, x-ratelimit-reset-…),
// during which every other request to that endpoint is held back too. An
// answer no retry can fix — an exhausted quota, a bad key, an unknown model
// — is not retried but returned as a *FatalError (errors.Is ErrFatal, and
// ErrQuota for the quota), so that a pass stops at once instead of failing
// every event in turn.
//
// This lives in the client's HTTPDoer rather than around each call because
// only it sees the response headers and body: go-openai's errors carry the
// status and message but not Retry-After.
package openaiclient

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/ratelimit"
)

// Options configures New. Every field but BaseURL and APIKey has a usable
// zero value.
type Options struct {
	// BaseURL of any OpenAI-compatible API: "https://api.openai.com/v1",
	// Azure's v1 endpoint "https://RESOURCE.openai.azure.com/openai/v1/",
	// an Ollama, vLLM or LM Studio server; with Azure set, the resource's
	// endpoint "https://RESOURCE.openai.azure.com". Empty means OpenAI's.
	BaseURL string
	// APIKey is sent as a bearer token (Azure: in the api-key header).
	APIKey string
	// Azure, when set, speaks Azure OpenAI's deployment API instead of
	// OpenAI's.
	Azure *Azure

	// MaxRetries bounds retries of one request. Default 5; negative
	// means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff when the
	// server names no wait: the n-th retry waits between half and all of
	// MinBackoff·2ⁿ⁻¹, at most MaxBackoff. Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long a server's asked-for wait is honoured,
	// so a bogus header cannot stall a nightly run. Default 2m.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt of one request, reading the answer
	// included. Default DefaultTimeout.
	Timeout time.Duration

	// Chat and Embeddings are the client-side limits of the chat
	// completions and embeddings endpoints. Zero: none.
	Chat, Embeddings ratelimit.Limits

	// Logger receives a line per retry and per long wait for a limit.
	// Default slog.Default().
	Logger *slog.Logger

	// Transport sends each attempt. Default http.DefaultTransport.
	Transport http.RoundTripper
	// Now, Sleep and Jitter are the clock and the randomness of backoff:
	// tests inject their own. Jitter returns a number in [0, 1). Defaults:
	// time.Now, a timer, math/rand/v2.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64
}

// DefaultTimeout is the default Options.Timeout: a chat call that writes
// thousands of tokens on a busy server can take a minute.
const DefaultTimeout = 2 * time.Minute

func (o Options) withDefaults() Options {
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 2 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = ratelimit.Sleep
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	return o
}

// New returns a go-openai client whose requests go through the limits and
// retries of opts.
func New(opts Options) *openai.Client {
	opts = opts.withDefaults()
	var cfg openai.ClientConfig
	if opts.Azure != nil {
		cfg = opts.Azure.config(opts.APIKey, opts.BaseURL)
	} else {
		cfg = openai.DefaultConfig(opts.APIKey)
		if opts.BaseURL != "" {
			cfg.BaseURL = opts.BaseURL
		}
	}
	cfg.HTTPClient = newDoer(opts) // an openai.HTTPDoer
	return openai.NewClientWithConfig(cfg)
}

// endpoint is the kind of API a request is for, by its path: Azure's
// deployment paths end the same way as OpenAI's.
type endpoint string

const (
	chatEndpoint       endpoint = "chat"
	embeddingsEndpoint endpoint = "embeddings"
	otherEndpoint      endpoint = "other"
)

func endpointOf(path string) endpoint {
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return chatEndpoint
	case strings.HasSuffix(path, "/embeddings"):
		return embeddingsEndpoint
	}
	return otherEndpoint
}

type tokensKey struct{}

// WithTokens tells the client how many tokens the request made with ctx is
// expected to use, for the tokens-per-minute limit: for a chat call, its
// prompt's tokens plus the output cap; for embeddings, the inputs' tokens.
// Without it the client reckons one token per 4 bytes of the request body.
func WithTokens(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, tokensKey{}, n)
}

func tokensOf(ctx context.Context, req *http.Request) int {
	if n, ok := ctx.Value(tokensKey{}).(int); ok {
		return n
	}
	if req.ContentLength > 0 {
		return int(req.ContentLength / 4)
	}
	return 0
}
