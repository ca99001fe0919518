package openaiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// ErrFatal is what every *FatalError is (errors.Is): an answer of the model
// server that no retry and no other event can change — a bad key, a model
// or deployment that does not exist, a request the server rejects whatever
// the event, an exhausted quota. A pass that gets one stops at once.
var ErrFatal = errors.New("model API error no retry can fix")

// ErrQuota is the *FatalError of an exhausted quota or budget: OpenAI's 429
// with code insufficient_quota. It is also ErrFatal.
var ErrQuota = fmt.Errorf("quota exhausted: %w", ErrFatal)

// FatalError is a model server's answer that must end the pass.
type FatalError struct {
	StatusCode int    // the HTTP status
	Code       string // the server's error code, else its error type: "insufficient_quota", "invalid_api_key", …
	Message    string // the server's message, or the start of its body
	// api is the answer as go-openai reads it, so that errors.As finds an
	// *openai.APIError as it would for any other error answer.
	api *openai.APIError
}

func (e *FatalError) Error() string {
	what := "the model API refused the request"
	if e.quota() {
		what = "model API quota exhausted"
	}
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d%s): %s", what, e.StatusCode, code, msg)
}

// Unwrap gives ErrQuota or ErrFatal, and the *openai.APIError.
func (e *FatalError) Unwrap() []error {
	sentinel := ErrFatal
	if e.quota() {
		sentinel = ErrQuota
	}
	if e.api == nil {
		return []error{sentinel}
	}
	return []error{sentinel, e.api}
}

func (e *FatalError) quota() bool { return e.Code == "insufficient_quota" }

// apiAnswer is an error answer's body as OpenAI-compatible servers write it.
type apiAnswer struct {
	status int
	code   string // code, else type
	api    *openai.APIError
	body   []byte
}

// readAnswer reads an error answer's body: {"error": {"message", "type",
// "code"}} from OpenAI, Azure, vLLM and Ollama alike; servers that write
// something else get their body's start as the message.
func readAnswer(status int, body []byte) apiAnswer {
	a := apiAnswer{status: status, body: body}
	var er openai.ErrorResponse
	if json.Unmarshal(body, &er) == nil && er.Error != nil {
		a.api = er.Error
		a.api.HTTPStatusCode = status
		a.api.HTTPStatus = fmt.Sprintf("%d %s", status, http.StatusText(status))
		switch c := er.Error.Code.(type) {
		case string:
			a.code = c
		case float64:
			a.code = fmt.Sprint(c)
		}
		if a.code == "" {
			a.code = er.Error.Type
		}
		if er.Error.InnerError != nil && er.Error.InnerError.Code != "" && a.code == "" {
			a.code = er.Error.InnerError.Code
		}
	}
	return a
}

func (a apiAnswer) message() string {
	if a.api != nil {
		return a.api.Message
	}
	s := strings.TrimSpace(string(a.body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (a apiAnswer) fatal() *FatalError {
	return &FatalError{StatusCode: a.status, Code: a.code, Message: a.message(), api: a.api}
}

// perRequest are error codes of a 400 that concern the request at hand,
// not the configuration: another event's request may well succeed, so the
// event fails alone. Azure's content filter, above all, refuses some news
// (wars, attacks) and lets the rest through.
var perRequest = map[string]bool{
	"context_length_exceeded":      true,
	"string_above_max_length":      true,
	"content_filter":               true,
	"content_policy_violation":     true,
	"invalid_prompt":               true, // flagged by the usage policies
	"ResponsibleAIPolicyViolation": true,
}

// concernsRequest is whether a non-retryable 4xx answer is about this
// request alone rather than anything every request would get.
func (a apiAnswer) concernsRequest() bool {
	if a.status == http.StatusRequestEntityTooLarge {
		return true
	}
	if a.status != http.StatusBadRequest {
		return false
	}
	if perRequest[a.code] {
		return true
	}
	if a.api != nil && a.api.InnerError != nil && perRequest[a.api.InnerError.Code] {
		return true
	}
	// vLLM and llama.cpp say it in words only.
	msg := strings.ToLower(a.message())
	return strings.Contains(msg, "maximum context length") || strings.Contains(msg, "context length")
}
