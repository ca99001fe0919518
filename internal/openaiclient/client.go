// Package openaiclient builds the go-openai client that every model call of
// relator goes through: embeddings and chat alike share its retry policy.
//
// Retrying lives in the HTTP transport (hashicorp/go-retryablehttp) rather
// than around each call, because only the transport sees the response
// headers: go-openai's errors carry the status code but not Retry-After.
package openaiclient

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	openai "github.com/sashabaranov/go-openai"
)

// Options configures New. The zero value of every field but BaseURL and
// APIKey has a usable default.
type Options struct {
	// BaseURL of any OpenAI-compatible API, e.g. "https://api.openai.com/v1"
	// or an Ollama, vLLM or Azure endpoint. Empty means OpenAI's.
	BaseURL string
	// APIKey is sent as a bearer token.
	APIKey string
	// MaxRetries bounds retries of one request after a 429, a 5xx or a
	// connection error. Default 5; negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries when the server gives no Retry-After. Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long a server's Retry-After may make us wait,
	// so a bogus header cannot stall a nightly run. Default 2m.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt of one request. Default 2m.
	Timeout time.Duration
	// Logger receives one line per retry. Default slog.Default().
	Logger *slog.Logger
}

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
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 2 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// New returns a go-openai client whose HTTP transport retries 429 and 5xx
// responses and connection errors with exponential backoff, honouring the
// server's Retry-After header. After the last retry the last response is
// handed to go-openai, so its error carries the server's status and message.
func New(opts Options) *openai.Client {
	opts = opts.withDefaults()
	rc := retryablehttp.NewClient()
	rc.HTTPClient.Timeout = opts.Timeout
	rc.RetryMax = opts.MaxRetries
	rc.RetryWaitMin = opts.MinBackoff
	rc.RetryWaitMax = opts.MaxBackoff
	rc.Backoff = backoff(opts.MaxRetryAfter)
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = nil
	logger := opts.Logger
	rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
		if attempt > 0 {
			logger.Warn("retrying model request", "path", req.URL.Path, "attempt", attempt)
		}
	}

	cfg := openai.DefaultConfig(opts.APIKey)
	if opts.BaseURL != "" {
		cfg.BaseURL = opts.BaseURL
	}
	cfg.HTTPClient = rc.StandardClient()
	return openai.NewClientWithConfig(cfg)
}

// backoff waits what the server asks in Retry-After (seconds or HTTP date) on
// any 429 or 5xx, capped at maxRetryAfter, and otherwise backs off
// exponentially.
func backoff(maxRetryAfter time.Duration) retryablehttp.Backoff {
	return func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
			if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return min(d, maxRetryAfter)
			}
		}
		return retryablehttp.DefaultBackoff(lo, hi, attempt, nil)
	}
}

func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
