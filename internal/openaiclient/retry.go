package openaiclient

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/relator/relator/internal/ratelimit"
)

// doer is the client's openai.HTTPDoer: limits, attempts and retries.
type doer struct {
	opts   Options
	http   *http.Client // one attempt, bounded by opts.Timeout
	limits map[endpoint]*ratelimit.Limiter
}

func newDoer(opts Options) *doer {
	limiter := func(l ratelimit.Limits) *ratelimit.Limiter {
		return ratelimit.New(ratelimit.Options{Limits: l, Now: opts.Now, Sleep: opts.Sleep})
	}
	return &doer{
		opts: opts,
		http: &http.Client{Transport: opts.Transport, Timeout: opts.Timeout},
		limits: map[endpoint]*ratelimit.Limiter{
			chatEndpoint:       limiter(opts.Chat),
			embeddingsEndpoint: limiter(opts.Embeddings),
			otherEndpoint:      limiter(ratelimit.Limits{}),
		},
	}
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Do sends req, waiting for its endpoint's limits before every attempt and
// retrying what can be retried. It returns a successful response; the last
// response of a retryable failure once the retries are spent, or of a
// failure that concerns this request alone, for go-openai to turn into an
// *openai.APIError; a *FatalError for an answer no retry can fix; or the
// last network error.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	kind := endpointOf(req.URL.Path)
	lim := d.limits[kind]
	tokens := tokensOf(ctx, req)
	log := d.opts.Logger.With("endpoint", string(kind))
	for attempt := 0; ; attempt++ {
		waited, err := lim.Wait(ctx, tokens)
		if err != nil {
			return nil, fmt.Errorf("%s request: waiting for the rate limit: %w", kind, err)
		}
		if waited >= time.Second {
			log.Debug("waited for the rate limit", "waited", waited.Round(time.Millisecond), "tokens", tokens)
		}
		try, err := rewound(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := d.http.Do(try)
		if err == nil && resp.StatusCode < 400 {
			// Read within the attempt, so that a connection reset or a
			// stall in the middle of the body is retried like one before
			// it.
			err = buffer(resp)
		}
		if err != nil {
			if ctx.Err() != nil || !retryableNetwork(err) || attempt >= d.opts.MaxRetries {
				return nil, err
			}
			wait := d.backoff(attempt)
			log.Warn("retrying model request", "err", err, "attempt", attempt+1, "wait", wait.Round(time.Millisecond))
			if err := d.opts.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode < 400 {
			return resp, nil
		}
		answer, err := readError(resp, d.opts.APIKey)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests && answer.code == "insufficient_quota":
			return nil, answer.fatal()
		case retryableStatus(resp.StatusCode):
			if attempt >= d.opts.MaxRetries {
				return resp, nil
			}
			wait, advised := d.retryWait(resp, attempt)
			if advised && resp.StatusCode == http.StatusTooManyRequests {
				// The server is over a limit for every request of this
				// endpoint, not just this one.
				lim.PauseUntil(d.opts.Now().Add(wait))
			}
			log.Warn("retrying model request", "status", resp.StatusCode, "attempt", attempt+1,
				"wait", wait.Round(time.Millisecond), "server_asked", advised)
			if err := d.opts.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		case answer.concernsRequest():
			return resp, nil
		default:
			return nil, answer.fatal()
		}
	}
}

// buffer reads a successful answer's body into memory, closing the
// connection's.
func buffer(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// rewound is req for the given attempt: req itself first, then a copy with
// its body read afresh.
func rewound(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 0 || req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("model request: body cannot be sent again for a retry")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("model request: rewind body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// readError reads an error response's body and puts it back, so that the
// response can still be handed to go-openai, with the API key cut out of
// it: a server or proxy that echoes the key it was sent would otherwise put
// it in error messages, logs and the runs table.
func readError(resp *http.Response, key string) (apiAnswer, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		return apiAnswer{}, fmt.Errorf("model request: read %d answer: %w", resp.StatusCode, err)
	}
	body = redact(body, key)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return readAnswer(resp.StatusCode, body), nil
}

// minRedacted is the shortest key redact cuts out: shorter ones (tests'
// "sk-test") are not secrets, and would cut ordinary words.
const minRedacted = 8

// redact replaces every occurrence of key in body, as written or
// JSON-escaped, by "[redacted]".
func redact(body []byte, key string) []byte {
	if len(key) < minRedacted {
		return body
	}
	body = bytes.ReplaceAll(body, []byte(key), []byte("[redacted]"))
	if escaped, err := json.Marshal(key); err == nil {
		body = bytes.ReplaceAll(body, escaped[1:len(escaped)-1], []byte("[redacted]"))
	}
	return body
}

// retryableStatus: a request timeout, a conflict (OpenAI's advice is to
// retry), a rate limit, a server error.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusConflict ||
		code == http.StatusTooManyRequests || code >= 500
}

// retryableNetwork is whether a failed attempt may succeed if tried again:
// connection failures and timeouts may; a certificate nobody trusts does
// not.
func retryableNetwork(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		certInvalid      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verify           *tls.CertificateVerificationError
	)
	return !errors.As(err, &unknownAuthority) && !errors.As(err, &certInvalid) &&
		!errors.As(err, &hostname) && !errors.As(err, &verify)
}

// retryWait is the wait before retrying after resp: what the server asks
// for (capped at MaxRetryAfter, plus up to a tenth more, at most a second,
// so that workers told the same instant do not all come back at once), or
// else the backoff of the attempt.
func (d *doer) retryWait(resp *http.Response, attempt int) (time.Duration, bool) {
	if w, ok := serverWait(resp, d.opts.Now()); ok {
		w = min(w, d.opts.MaxRetryAfter)
		return w + time.Duration(d.opts.Jitter()*float64(min(w/10, time.Second))), true
	}
	return d.backoff(attempt), false
}

// backoff is the wait before retry attempt+1 when the server names none:
// exponential from MinBackoff, capped at MaxBackoff, with "equal jitter"
// (between half and all of it) so that concurrent retries spread out.
func (d *doer) backoff(attempt int) time.Duration {
	b := d.opts.MinBackoff
	for range attempt {
		if b >= d.opts.MaxBackoff/2 {
			b = d.opts.MaxBackoff
			break
		}
		b *= 2
	}
	b = min(b, d.opts.MaxBackoff)
	return b/2 + time.Duration(d.opts.Jitter()*float64(b/2))
}
