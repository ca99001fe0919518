package analyzer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/events"
)

// CallLog keeps every chat call the openai classifier makes and gives back
// a stored answer instead of a second, paid call for the same request.
// internal/calllog implements it over the model_calls table.
type CallLog interface {
	// Answer returns the stored successful answer to the request q names,
	// recorded after q.Since, and whether there is one.
	Answer(ctx context.Context, q CallQuery) (ChatAnswer, bool, error)
	// Record stores one call, answered or failed, durably (committed) before
	// it returns.
	Record(ctx context.Context, c ChatCall) error
}

// CallKey names one request of one analysis: the analysis key (event,
// content hash, model, prompt version) and the request's hash.
type CallKey struct {
	EventID       int64
	EventHash     []byte // events.Event.ContentHash of the New Event as prompted
	Model         string
	PromptVersion string
	// RequestHash is the sha256 of the request body as sent: the prompt
	// (with its candidates), the sampling settings and the schema. Any
	// change of them — say a new prior event among the candidates — is
	// another request, which is asked again.
	RequestHash []byte
}

// CallQuery asks for a stored answer.
type CallQuery struct {
	CallKey
	// Since excludes answers recorded before it: the analysis of this key
	// that finished then has used them. Zero: any.
	Since time.Time
}

// ChatAnswer is what a chat call returned, as far as the classifier reads
// it: its first choice and usage.
type ChatAnswer struct {
	ResponseID   string
	Choices      int // 0: the reply had none
	Content      string
	Refusal      string
	FinishReason string
	TokensIn     int
	TokensOut    int
}

// ChatCall is one chat HTTP call as recorded.
type ChatCall struct {
	CallKey
	Kind    string // CallFirst or CallRepair
	RunID   int64  // 0: none
	Answer  ChatAnswer
	Latency time.Duration
	Err     string // the call failed; Answer is empty
}

// Kinds of chat call.
const (
	CallFirst  = "first"
	CallRepair = "repair"
)

// errCallLog marks a failure of the call log, which is relator's storage:
// it ends the pass like any other storage fault.
var errCallLog = errors.New("model call log")

// callScope is what an analysis tells the classifier's call log about
// itself: the run it belongs to and since when its answers are unused.
type callScope struct {
	runID int64
	since time.Time
}

type callScopeKey struct{}

// withCallScope returns ctx carrying s for the classifier's calls.
func withCallScope(ctx context.Context, s callScope) context.Context {
	return context.WithValue(ctx, callScopeKey{}, s)
}

func callScopeOf(ctx context.Context) callScope {
	s, _ := ctx.Value(callScopeKey{}).(callScope)
	return s
}

// chatCall is one chat call of one analysis, logged through log: reuse
// before the HTTP call, record after it. A nil log logs nothing and reuses
// nothing.
type chatCall struct {
	log   CallLog
	key   CallKey
	kind  string
	scope callScope
}

// newChatCall prepares the logging of req, a call of kind for newEvent.
func newChatCall(ctx context.Context, log CallLog, model, promptVersion string, newEvent events.Event, kind string,
	req openai.ChatCompletionRequest) (chatCall, error) {
	c := chatCall{log: log, kind: kind, scope: callScopeOf(ctx)}
	if log == nil {
		return c, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return c, fmt.Errorf("hash chat request: %w", err)
	}
	sum := sha256.Sum256(body)
	c.key = CallKey{EventID: newEvent.ID, EventHash: newEvent.ContentHash(), Model: model, PromptVersion: promptVersion,
		RequestHash: sum[:]}
	return c, nil
}

// stored returns the stored answer to the call, if there is one.
func (c chatCall) stored(ctx context.Context) (openai.ChatCompletionResponse, bool, error) {
	if c.log == nil {
		return openai.ChatCompletionResponse{}, false, nil
	}
	a, ok, err := c.log.Answer(ctx, CallQuery{CallKey: c.key, Since: c.scope.since})
	if err != nil {
		return openai.ChatCompletionResponse{}, false, fmt.Errorf("%w: %w", errCallLog, err)
	}
	if !ok {
		return openai.ChatCompletionResponse{}, false, nil
	}
	resp := openai.ChatCompletionResponse{ID: a.ResponseID,
		Usage: openai.Usage{PromptTokens: a.TokensIn, CompletionTokens: a.TokensOut, TotalTokens: a.TokensIn + a.TokensOut}}
	if a.Choices > 0 {
		resp.Choices = []openai.ChatCompletionChoice{{FinishReason: openai.FinishReason(a.FinishReason),
			Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: a.Content, Refusal: a.Refusal}}}
	}
	if !judge(resp, 0, nil).readable {
		// An answer that cannot be read (a refusal, cut off, withheld, not
		// the schema's JSON) is what failed its attempt, and asking again
		// is what the retry is for: it is not reused.
		return openai.ChatCompletionResponse{}, false, nil
	}
	return resp, true, nil
}

// recordTimeout bounds the write of one call's row. It runs even when the
// analysis is being cancelled: the answer is paid for.
const recordTimeout = 15 * time.Second

// record stores the call's outcome: resp, or callErr.
func (c chatCall) record(ctx context.Context, resp openai.ChatCompletionResponse, callErr error, latency time.Duration) error {
	if c.log == nil {
		return nil
	}
	call := ChatCall{CallKey: c.key, Kind: c.kind, RunID: c.scope.runID, Latency: latency}
	if callErr != nil {
		call.Err = callErr.Error()
	} else {
		call.Answer = ChatAnswer{ResponseID: resp.ID, Choices: len(resp.Choices),
			TokensIn: resp.Usage.PromptTokens, TokensOut: resp.Usage.CompletionTokens}
		if len(resp.Choices) > 0 {
			ch := resp.Choices[0]
			call.Answer.Content, call.Answer.Refusal, call.Answer.FinishReason =
				ch.Message.Content, ch.Message.Refusal, string(ch.FinishReason)
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := c.log.Record(rctx, call); err != nil {
		return fmt.Errorf("%w: %w", errCallLog, err)
	}
	return nil
}
