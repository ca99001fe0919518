package openaiclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"2", 2 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// modelsServer answers GET /models with failures first, then success.
func modelsServer(t *testing.T, failures []int, retryAfter string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		w.Header().Set("Content-Type", "application/json")
		if n <= len(failures) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(failures[n-1])
			w.Write([]byte(`{"error":{"message":"slow down","type":"rate_limit"}}`))
			return
		}
		w.Write([]byte(`{"object":"list","data":[{"id":"m1","object":"model"}]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestNewRetriesHonouringRetryAfter(t *testing.T) {
	srv, calls := modelsServer(t, []int{429, 503}, "1")
	client := New(Options{BaseURL: srv.URL, APIKey: "k", MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	start := time.Now()
	list, err := client.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || calls.Load() != 3 {
		t.Fatalf("models %v after %d calls; want 1 model after 3", list.Models, calls.Load())
	}
	// Two Retry-After: 1 waits, though the backoff alone would be ~2ms.
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("waited %v; Retry-After asked for 2s in all", waited)
	}
}

func TestNewGivesUpWithTheServersError(t *testing.T) {
	srv, calls := modelsServer(t, []int{500, 500, 500, 500}, "")
	client := New(Options{BaseURL: srv.URL, APIKey: "k", MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := client.ListModels(context.Background())
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 500 || apiErr.Message != "slow down" {
		t.Fatalf("err = %v; want the server's 500 API error", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls; want 1 + 2 retries", calls.Load())
	}
}

func TestNewDoesNotRetryClientErrors(t *testing.T) {
	srv, calls := modelsServer(t, []int{400}, "")
	client := New(Options{BaseURL: srv.URL, APIKey: "k", MinBackoff: time.Millisecond})
	if _, err := client.ListModels(context.Background()); err == nil {
		t.Fatal("want an error for a 400")
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls; a 400 must not be retried", calls.Load())
	}
}
