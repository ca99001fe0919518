package analyzer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"

	"github.com/relator/relator/events"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/tokens"
	"github.com/relator/relator/prompts"
)

// OpenAIOptions configures NewOpenAI. Only Model is required.
type OpenAIOptions struct {
	// Model is the chat model asked, e.g. "gpt-4o-mini", or the name an
	// OpenAI-compatible server (Ollama, vLLM) knows its model by. It must
	// support structured outputs (a json_schema response format); it is
	// also what Model() reports and every written relation records.
	Model string
	// Temperature is the sampling temperature, from 0 to 2. The default 0
	// makes replies as repeatable as the server allows, which is what a
	// classifier wants: the same events should get the same relations.
	// go-openai leaves a zero Temperature out of the request (the field is
	// omitempty), so the server's default (1 on OpenAI) would apply; 0 is
	// therefore sent as 1e-6, which is greedy in effect. Reasoning models
	// (o1, o3, o4, gpt-5 …) fix their sampling: with 0 they are sent no
	// temperature, and NewOpenAI fails for a value go-openai rejects for
	// them.
	Temperature float32
	// MaxTokens caps the output tokens of one call, so a model that
	// rambles costs a bounded amount and is cut off ("length") instead of
	// running on. Default DefaultMaxTokens, far above the ~100 tokens per
	// related candidate a reply needs. It is sent as max_tokens, which every
	// OpenAI-compatible server knows, except to reasoning models, which
	// take max_completion_tokens (and count their reasoning in it).
	MaxTokens int
	// PromptBudget is the most tokens one call's prompt may take, counted
	// with Model's tokenizer (the response schema included): a prompt over
	// it is fitted by prompts.Fit, shortening the longest fields and then
	// dropping the lowest-ranked candidates, so that a huge event or a
	// large K never overflows the model's context or a call's cost.
	// Default DefaultPromptBudget; negative means none. It bounds the
	// first call; the repair call adds the reply and a short message.
	PromptBudget int
	// Logger receives a warning per reply that needed the repair retry and
	// per reply whose invalid items were dropped. Default slog.Default().
	Logger *slog.Logger
	// Calls, when set, records every chat call (internal/calllog), and an
	// answer it has stored for the same analysis and request is used
	// instead of calling again: what a crash between the answer and the
	// write of the relations would otherwise cost twice. Nil: no log.
	Calls CallLog
}

// DefaultMaxTokens is the default OpenAIOptions.MaxTokens.
const DefaultMaxTokens = 4096

// DefaultPromptBudget is the default OpenAIOptions.PromptBudget: with the
// output cap of DefaultMaxTokens, a first call and its repair call (which
// adds a reply of at most that cap) fit a 16k context window; it is 2 to 3
// times what this repository's sample needs at K = 15, so only
// unusually long events are shortened.
const DefaultPromptBudget = 6000

// nearZeroTemperature is sent for a temperature of 0, which go-openai would
// omit. It is not math.SmallestNonzeroFloat32 (1e-45, the workaround
// suggested in go-openai's issue #9): servers built on llama.cpp (Ollama,
// LM Studio) divide logits by a positive temperature, and 1e-45 overflows
// them to infinities. 1e-6 is greedy for every practical purpose, and vLLM
// treats anything below 1e-5 as greedy outright.
const nearZeroTemperature float32 = 1e-6

// OpenAI classifies with a chat model behind any OpenAI-compatible chat
// completions API: one call per New Event, asking for every related
// candidate at once as JSON constrained by a strict JSON schema, plus at most
// one repair call when the reply cannot be used as it is. It is safe for
// concurrent use.
type OpenAI struct {
	client *openai.Client
	model  string
	types  []prompts.RelationType
	// base is every call's request but its messages: model, sampling,
	// output cap and response format. Calls copy it; nothing modifies it.
	base openai.ChatCompletionRequest
	// schemaTokens is what the response format's schema adds to every
	// call's prompt; maxTokens is the output cap, which the rate limit
	// counts too.
	schemaTokens, maxTokens int
	// systemTokens is what every prompt takes besides its user message's
	// text (prompts.SystemTokens), counted once.
	systemTokens int
	// counter counts prompts, remembering the candidate lines it has seen:
	// each prior event is a candidate of many later ones.
	counter *tokens.Counter
	budget  int // of the first call's prompt; 0: none
	log     *slog.Logger
	calls   CallLog // nil: none
}

var _ Classifier = (*OpenAI)(nil)

// NewOpenAI returns a classifier asking opts.Model through client, which
// should come from internal/openaiclient, so that calls wait for the
// client-side rate limits, 429s and server errors are retried as the
// server asks, and an exhausted quota is an openaiclient.ErrFatal.
func NewOpenAI(client *openai.Client, opts OpenAIOptions) (*OpenAI, error) {
	if client == nil {
		return nil, errors.New("analyzer: nil openai client")
	}
	opts.Model = strings.TrimSpace(opts.Model)
	if opts.Model == "" {
		return nil, errors.New("analyzer: openai chat model is required")
	}
	if opts.Temperature < 0 || opts.Temperature > 2 {
		return nil, fmt.Errorf("analyzer: temperature %g is not between 0 and 2", opts.Temperature)
	}
	if opts.MaxTokens < 0 {
		return nil, fmt.Errorf("analyzer: negative max tokens %d", opts.MaxTokens)
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.PromptBudget == 0 {
		opts.PromptBudget = DefaultPromptBudget
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	base, err := sampling(opts.Model, opts.Temperature, opts.MaxTokens)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	taxonomy := Taxonomy()
	types := make([]prompts.RelationType, len(taxonomy))
	names := make([]string, len(taxonomy))
	for i, info := range taxonomy {
		types[i] = prompts.RelationType{Name: string(info.Type), Description: info.Description}
		names[i] = string(info.Type)
	}
	schema, err := relationsSchema(names)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	base.ResponseFormat = &openai.ChatCompletionResponseFormat{
		Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
			Name:   "relations",
			Strict: true,
			Schema: schema,
		},
	}
	schemaTokens, err := tokens.Count(opts.Model, string(schema))
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	systemTokens, err := prompts.SystemTokens(opts.Model, types)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	counter, err := tokens.NewCounter(opts.Model, 0)
	if err != nil {
		return nil, fmt.Errorf("analyzer: %w", err)
	}
	return &OpenAI{client: client, model: opts.Model, types: types, base: base, counter: counter,
		schemaTokens: schemaTokens, systemTokens: systemTokens, maxTokens: opts.MaxTokens,
		budget: max(opts.PromptBudget, 0), log: opts.Logger, calls: opts.Calls}, nil
}

// sampling returns a request carrying model, temperature and the output cap
// in the fields model accepts, as go-openai's own request validator judges
// it: reasoning models must have max_completion_tokens instead of
// max_tokens and no temperature other than their fixed one.
func sampling(model string, temperature float32, maxTokens int) (openai.ChatCompletionRequest, error) {
	req := openai.ChatCompletionRequest{Model: model, MaxTokens: maxTokens, Temperature: temperature}
	if temperature == 0 {
		req.Temperature = nearZeroTemperature
	}
	v := openai.NewReasoningValidator()
	if v.Validate(req) == nil {
		return req, nil
	}
	req.MaxTokens, req.MaxCompletionTokens = 0, maxTokens
	req.Temperature = temperature // 0 is left out, as these models need
	if err := v.Validate(req); err != nil {
		return req, fmt.Errorf("model %s with temperature %g: %w", model, temperature, err)
	}
	return req, nil
}

// relationsSchema is the strict JSON schema of a reply, marshalled once:
// {"relations": [{"event": integer, "type": one of types, "confidence":
// number, "rationale": string}]}, every property required and no others
// allowed, as OpenAI's strict mode demands. Strict mode's subset is not
// relied on for ranges (nor can jsonschema.Definition express minimum,
// maximum or an integer enum of the candidate numbers); validateItems
// checks them.
//
// The property schemas are go-openai jsonschema Definitions, but objects
// are written by orderedObject: Definition.Properties is a map, which
// encoding/json writes in sorted key order, and a model constrained by a
// schema writes properties in the schema's order, so the map would have it
// give a confidence before naming the candidate. orderedObject keeps the
// order the prompt shows: event, type, confidence, rationale.
func relationsSchema(types []string) (json.RawMessage, error) {
	item := orderedObject{
		{"event", &jsonschema.Definition{Type: jsonschema.Integer, Description: "the candidate's number N, from the list"}},
		{"type", &jsonschema.Definition{Type: jsonschema.String, Enum: types}},
		{"confidence", &jsonschema.Definition{Type: jsonschema.Number, Description: "from 0.0 to 1.0"}},
		{"rationale", &jsonschema.Definition{Type: jsonschema.String, Description: `begins with "Event N" and mentions the New Event`}},
	}
	root := orderedObject{
		{"relations", struct {
			Type  jsonschema.DataType `json:"type"`
			Items orderedObject       `json:"items"`
		}{jsonschema.Array, item}},
	}
	b, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("relations schema: %w", err)
	}
	return b, nil
}

// orderedObject is the schema of a strict JSON object: its properties, in
// order, all required, and no additional properties.
type orderedObject []struct {
	name   string
	schema any
}

// MarshalJSON writes the object schema with its properties in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":"object","properties":{`)
	names := make([]string, len(o))
	for i, p := range o {
		names[i] = p.name
		name, err := json.Marshal(p.name)
		if err != nil {
			return nil, err
		}
		schema, err := json.Marshal(p.schema)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.name, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(schema)
	}
	required, err := json.Marshal(names)
	if err != nil {
		return nil, err
	}
	b.WriteString(`},"required":`)
	b.Write(required)
	b.WriteString(`,"additionalProperties":false}`)
	return b.Bytes(), nil
}

// Model is OpenAIOptions.Model.
func (o *OpenAI) Model() string { return o.model }

// PromptVersion is prompts.Version().
func (o *OpenAI) PromptVersion() string { return prompts.Version() }

// Classify asks the model which candidates are related to newEvent. With no
// candidates it returns an empty Result without calling the model.
//
// The prompt is fitted to the PromptBudget (prompts.Fit): fields are
// shortened and, if need be, the last, lowest-ranked candidates are not
// shown. The model is asked about the candidates it is shown, numbered as
// given, and its reply is judged against exactly those: an item naming a
// candidate it was not shown is invalid.
//
// Every returned relation is valid (see validateItems). If the first reply
// cannot be used as it is (not JSON, cut off, refused, or any invalid
// item), the model is asked exactly once more, with its reply and the list
// of problems (prompts.Repair), for the complete corrected list. The second
// reply then replaces the first, valid items and all, since it was asked
// for every relation; only if it cannot be read at all are the first
// reply's valid items used. Invalid items of the reply used are dropped and
// counted in Result.Invalid. When neither reply can be read, Classify fails
// with ErrUnusableReply: no analysis, a failed attempt.
//
// Result.Calls counts the chat calls made (1 or 2; retries of 429 and 5xx
// inside the client's transport are not calls) and the token counts sum
// the usage of every reply. A failed call (after the transport's retries,
// or a 4xx) is an error; the Result returned with it has no relations but
// still counts the calls and tokens spent.
func (o *OpenAI) Classify(ctx context.Context, newEvent events.Event, candidates []Candidate) (Result, error) {
	if len(candidates) == 0 {
		return Result{}, nil
	}
	first, err := o.render(newEvent, candidates)
	if err != nil {
		return Result{}, fmt.Errorf("classify event %s: %w", newEvent.SourceID, err)
	}
	var res Result
	resp, err := o.complete(ctx, newEvent, CallFirst, first.req.Messages, first.tokens, &res)
	if err != nil {
		return Result{Calls: res.Calls}, fmt.Errorf("classify event %s: %w", newEvent.SourceID, err)
	}
	return o.settle(ctx, newEvent, first, resp, res)
}

// firstCall is a classification's first chat call as rendered: what
// Classify sends, and what a Batch API request carries.
type firstCall struct {
	req    openai.ChatCompletionRequest // every field of the call, messages included
	tokens int                          // of its prompt, the schema included
	shown  int                          // candidates shown: the first shown of those given
	self   map[int]bool                 // shown candidates that are the New Event itself
	// rerender, when req has no messages (a batch reply judged without
	// rendering its prompt again), renders them for a repair call.
	rerender func() (firstCall, error)
}

// render fits the prompt for newEvent and its candidates to the budget
// (see Classify) and returns the first call.
func (o *OpenAI) render(newEvent events.Event, candidates []Candidate) (firstCall, error) {
	p, fitted, err := prompts.Fit(o.input(newEvent, candidates), prompts.Budget{Model: o.model, Tokens: o.budget,
		Reserved: o.schemaTokens, SystemTokens: o.systemTokens, Counter: o.counter})
	if err != nil {
		return firstCall{}, err
	}
	if fitted.Candidates < len(candidates) || fitted.Shortened() {
		o.log.Info("prompt fitted to the token budget", "event", newEvent.SourceID, "budget", o.budget, "tokens", fitted.Tokens,
			"candidates", fitted.Candidates, "of", len(candidates), "limits", fmt.Sprintf("%+v", fitted.Limits))
	}
	// The model sees the first fitted.Candidates, numbered as before: the
	// reply is judged against exactly those.
	shown := candidates[:fitted.Candidates]
	req := o.base
	req.Messages = []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: p.System},
		{Role: openai.ChatMessageRoleUser, Content: p.User},
	}
	return firstCall{req: req, tokens: fitted.Tokens, shown: len(shown), self: selfLinks(newEvent, shown)}, nil
}

// settle judges resp, the reply to first, and makes the repair call if it
// needs one (see Classify); res holds the calls and usage so far, resp's
// included.
func (o *OpenAI) settle(ctx context.Context, newEvent events.Event, first firstCall, resp openai.ChatCompletionResponse, res Result) (Result, error) {
	fail := func(err error) (Result, error) {
		return Result{Calls: res.Calls, TokensIn: res.TokensIn, TokensOut: res.TokensOut},
			fmt.Errorf("classify event %s: %w", newEvent.SourceID, err)
	}
	k, self, msgs := first.shown, first.self, first.req.Messages
	used := judge(resp, k, self)
	if len(used.problems) > 0 {
		o.log.Warn("model reply unusable, asking once more", "event", newEvent.SourceID,
			"problems", len(used.problems), "first", used.problems[0])
		repair, err := prompts.Repair(used.problems)
		if err != nil {
			return fail(err)
		}
		if msgs == nil && first.rerender != nil {
			again, err := first.rerender()
			if err != nil {
				return fail(err)
			}
			msgs = again.req.Messages
		}
		msgs = slices.Clip(msgs)
		if used.message.Content != "" || used.message.Refusal != "" {
			msgs = append(msgs, used.message)
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: repair})
		resp, err = o.complete(ctx, newEvent, CallRepair, msgs, 0, &res)
		if err != nil {
			return fail(err)
		}
		if retry := judge(resp, k, self); retry.readable || !used.readable {
			used = retry
		}
	}
	if !used.readable {
		// Not an analysis: a failed attempt, retried by a later pass and
		// dead-lettered after the last one.
		return fail(fmt.Errorf("%w after its repair: %s", ErrUnusableReply, used.problems[0]))
	}
	res.Relations, res.Invalid = used.relations, used.invalid
	if res.Invalid > 0 {
		o.log.Warn("dropped invalid relations", "event", newEvent.SourceID, "invalid", res.Invalid,
			"kept", len(res.Relations), "first", used.problems[0])
	}
	return res, nil
}

// ErrUnusableReply is Classify's error when no reply, the repair's
// included, could be read (not JSON, not the schema's object, refused, cut
// off, withheld or without choices): the event's analysis failed.
var ErrUnusableReply = errors.New("model reply unusable")

// complete makes one chat call (kind CallFirst or CallRepair) with msgs and
// adds it and its usage to res, once the pass's budget has let it
// (ErrBudgetReached otherwise). The client's tokens-per-minute limit is
// told what the call may use: its prompt's tokens (promptTokens, or counted
// when 0), and the output cap. With a call log, an answer stored for the
// same request is returned instead (counted in res.Reused), and every call
// made is recorded before its answer is used.
func (o *OpenAI) complete(ctx context.Context, newEvent events.Event, kind string, msgs []openai.ChatCompletionMessage,
	promptTokens int, res *Result) (openai.ChatCompletionResponse, error) {
	req := o.base
	req.Messages = msgs
	logged, err := newChatCall(ctx, o.calls, o.model, o.PromptVersion(), newEvent, kind, req)
	if err != nil {
		return openai.ChatCompletionResponse{}, err
	}
	if resp, ok, err := logged.stored(ctx); err != nil || ok {
		if ok {
			res.Reused++
		}
		return resp, err
	}
	if promptTokens <= 0 {
		n, err := tokens.Chat(o.model, tokenMessages(msgs)...)
		if err != nil {
			return openai.ChatCompletionResponse{}, err
		}
		promptTokens = n + o.schemaTokens
	}
	settle, err := reserve(ctx, promptTokens, ExpectedOutputTokens)
	if err != nil {
		return openai.ChatCompletionResponse{}, err // not made
	}
	began := time.Now()
	resp, err := o.client.CreateChatCompletion(openaiclient.WithTokens(ctx, promptTokens+o.maxTokens), req)
	settle(resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
	res.Calls++
	if rerr := logged.record(ctx, resp, err, time.Since(began)); rerr != nil {
		return resp, rerr
	}
	if err != nil {
		return resp, err
	}
	res.TokensIn += resp.Usage.PromptTokens
	res.TokensOut += resp.Usage.CompletionTokens
	return resp, nil
}

func tokenMessages(msgs []openai.ChatCompletionMessage) []tokens.Message {
	out := make([]tokens.Message, len(msgs))
	for i, m := range msgs {
		out[i] = tokens.Message{Role: m.Role, Content: m.Content + m.Refusal}
	}
	return out
}

// input converts the New Event and its candidates into the prompt's terms.
func (o *OpenAI) input(newEvent events.Event, candidates []Candidate) prompts.Input {
	in := prompts.Input{NewEvent: promptEvent(newEvent), Types: o.types}
	in.Candidates = make([]prompts.Candidate, len(candidates))
	for i, c := range candidates {
		in.Candidates[i] = prompts.Candidate{Number: c.Number, Event: promptEvent(c.Event)}
	}
	return in
}

// promptEvent shows an event to the prompt: its UTC date (YYYY-MM-DD),
// text and actors' names. The prompt leaves candidates' content out.
func promptEvent(e events.Event) prompts.Event {
	var date string
	if !e.OccurredAt.IsZero() {
		date = e.OccurredAt.UTC().Format("2006-01-02")
	}
	return prompts.Event{Date: date, Title: e.Title, Summary: e.Summary, Content: e.Content, Actors: e.ActorNames()}
}

// verdict is one reply as judged against its call's candidates.
type verdict struct {
	// message is the reply as the assistant message to send back with the
	// repair request.
	message openai.ChatCompletionMessage
	// readable is whether items could be read from the reply at all.
	readable  bool
	relations []Relation // the valid items
	invalid   int        // the invalid items
	problems  []string   // why the reply or its items cannot be used
}

// judge reads and validates the first choice of resp for a call with k
// candidates, of which those in self are the New Event itself. A reply
// without choices, refused, cut off by the output cap or the content filter,
// or without a {"relations": [...]} object is unreadable.
func judge(resp openai.ChatCompletionResponse, k int, self map[int]bool) verdict {
	if len(resp.Choices) == 0 {
		return verdict{problems: []string{"reply has no choices"}}
	}
	choice := resp.Choices[0]
	v := verdict{message: openai.ChatCompletionMessage{
		Role:    openai.ChatMessageRoleAssistant,
		Content: choice.Message.Content,
		Refusal: choice.Message.Refusal,
	}}
	switch {
	case choice.Message.Refusal != "":
		v.problems = []string{"reply is a refusal: " + choice.Message.Refusal}
		return v
	case choice.FinishReason == openai.FinishReasonLength:
		v.problems = []string{"reply was cut off at the output token limit before its JSON object ended; keep rationales to one to three sentences"}
		return v
	case choice.FinishReason == openai.FinishReasonContentFilter:
		v.problems = []string{"reply was withheld by the content filter"}
		return v
	}
	items, err := parseItems(choice.Message.Content)
	if err != nil {
		v.problems = []string{err.Error()}
		return v
	}
	v.readable = true
	v.relations, v.invalid, v.problems = validateItems(items, k, self)
	return v
}
