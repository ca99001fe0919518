package openaiclient

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverWait is how long the server asks to wait before a retry, from the
// first of these headers that it sent and that parses:
//
//   - retry-after-ms: milliseconds (OpenAI, Azure);
//   - Retry-After: seconds, or an HTTP date;
//   - on a 429 only, x-ratelimit-reset-requests and -tokens: the time until
//     that limit is back to full, as Go durations ("1s", "6m0s", "20ms").
//     The reset of the limit reported exhausted (x-ratelimit-remaining-… 0)
//     is used, or the later of the two when the headers do not say which.
func serverWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	h := resp.Header
	if d, ok := millis(h.Get("retry-after-ms")); ok {
		return d, true
	}
	if d, ok := retryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	reqs, reqsOK := reset(h.Get("x-ratelimit-reset-requests"))
	toks, toksOK := reset(h.Get("x-ratelimit-reset-tokens"))
	reqsOut := strings.TrimSpace(h.Get("x-ratelimit-remaining-requests")) == "0"
	toksOut := strings.TrimSpace(h.Get("x-ratelimit-remaining-tokens")) == "0"
	switch {
	case reqsOut && !toksOut && reqsOK:
		return reqs, true
	case toksOut && !reqsOut && toksOK:
		return toks, true
	case reqsOK || toksOK:
		return max(reqs, toks), true
	}
	return 0, false
}

func millis(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil || ms < 0 || ms > 1e9 {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s > 1e6 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// reset parses an x-ratelimit-reset-… value: a Go duration such as "1s",
// "6m0s", "20ms" or "1m30.5s"; a bare number is seconds.
func reset(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s <= 1e6 {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, false
}
