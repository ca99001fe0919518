package embeddings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/tokens"
)

// OpenAIOptions configures NewOpenAI. Only Model is required; every other
// zero value has a usable default.
type OpenAIOptions struct {
	// Model is the embedding model asked for, e.g. "text-embedding-3-small",
	// or whatever name an OpenAI-compatible server (Ollama, vLLM) knows its
	// model by. It is the request's model and the root of Model().
	Model string
	// Dimensions asks the server to shorten vectors to this length (the
	// API's "dimensions" parameter, which text-embedding-3 models support)
	// to save storage and search time. 0 means the model's native size and
	// leaves the parameter out of the request, which servers that do not
	// know it need.
	Dimensions int
	// MaxBatchInputs bounds the inputs of one request. Default 2048, the
	// OpenAI API's limit; lower it for servers with smaller limits.
	MaxBatchInputs int
	// MaxBatchTokens bounds the summed tokens of one request's inputs.
	// Default 300_000, the OpenAI API's per-request limit, so a large
	// batch is split instead of rejected.
	MaxBatchTokens int
	// MaxInputTokens is the most tokens of one input sent; longer inputs
	// are cut to their first MaxInputTokens tokens rather than rejected by
	// the server. Default 8191, the context of OpenAI's embedding models.
	// It must not exceed MaxBatchTokens, so every input fits a request.
	MaxInputTokens int
	// Logger receives a line per call that had to truncate inputs and a
	// debug line per request. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of OpenAIOptions.
const (
	DefaultMaxBatchInputs = 2048
	DefaultMaxBatchTokens = 300_000
	DefaultMaxInputTokens = 8191
)

// nativeDimensions are the vector sizes of OpenAI's embedding models when
// no dimensions parameter is sent.
var nativeDimensions = map[string]int{
	"text-embedding-3-small": 1536,
	"text-embedding-3-large": 3072,
	"text-embedding-ada-002": 1536,
}

// fixedDimensions are the models that reject the dimensions parameter.
var fixedDimensions = map[string]bool{
	"text-embedding-ada-002": true,
}

// OpenAI embeds texts through any OpenAI-compatible embeddings API. It is
// safe for concurrent use.
//
// Inputs are counted with tiktoken's cl100k_base encoding, cut to
// MaxInputTokens and sent in as few requests as MaxBatchInputs and
// MaxBatchTokens allow. Retrying failed requests is the client's transport's
// job (see internal/openaiclient), not OpenAI's.
type OpenAI struct {
	client *openai.Client
	opts   OpenAIOptions
	model  string // Model(): opts.Model, plus "@dims" when shortened
	enc    *tiktoken.Tiktoken
	// exactTokens is false for models other than OpenAI's, whose token
	// counts are cl100k_base estimates.
	exactTokens bool
	log         *slog.Logger

	// dims is the vector length: configured, known, or learned from the
	// first response (0 until then). Only ever set once from 0.
	dims atomic.Int64

	requests atomic.Int64
	tokens   atomic.Int64
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns an embedder of opts.Model through client, which should
// come from openaiclient.New so that rate limits and server errors are
// retried.
func NewOpenAI(client *openai.Client, opts OpenAIOptions) (*OpenAI, error) {
	if client == nil {
		return nil, errors.New("embeddings: nil openai client")
	}
	opts.Model = strings.TrimSpace(opts.Model)
	if opts.Model == "" {
		return nil, errors.New("embeddings: openai model is required")
	}
	for name, v := range map[string]int{
		"dimensions":       opts.Dimensions,
		"max batch inputs": opts.MaxBatchInputs,
		"max batch tokens": opts.MaxBatchTokens,
		"max input tokens": opts.MaxInputTokens,
	} {
		if v < 0 {
			return nil, fmt.Errorf("embeddings: negative %s %d", name, v)
		}
	}
	if opts.MaxBatchInputs == 0 {
		opts.MaxBatchInputs = DefaultMaxBatchInputs
	}
	if opts.MaxBatchTokens == 0 {
		opts.MaxBatchTokens = DefaultMaxBatchTokens
	}
	if opts.MaxInputTokens == 0 {
		opts.MaxInputTokens = DefaultMaxInputTokens
	}
	if opts.MaxInputTokens > opts.MaxBatchTokens {
		return nil, fmt.Errorf("embeddings: max input tokens %d exceed max batch tokens %d", opts.MaxInputTokens, opts.MaxBatchTokens)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	native := nativeDimensions[opts.Model]
	model := opts.Model
	dims := native
	if opts.Dimensions > 0 {
		if fixedDimensions[opts.Model] {
			return nil, fmt.Errorf("embeddings: model %s does not support dimensions", opts.Model)
		}
		if native > 0 && opts.Dimensions > native {
			return nil, fmt.Errorf("embeddings: model %s has at most %d dimensions, not %d", opts.Model, native, opts.Dimensions)
		}
		dims = opts.Dimensions
		// Shortened vectors are a different space from full ones, so
		// they get a different name; asking a known model for its
		// native size changes nothing and keeps the plain name.
		if opts.Dimensions != native {
			model += "@" + strconv.Itoa(opts.Dimensions)
		}
	}

	// OpenAI's embedding models all use cl100k_base. Other servers' models
	// (Ollama's nomic-embed-text, say) have tokenizers of their own that we
	// do not have; cl100k_base then only estimates their counts, which is
	// close enough to batch by and to keep inputs near the model's limit.
	enc, err := tokens.Encoding(tokens.CL100K)
	if err != nil {
		return nil, fmt.Errorf("embeddings: loading tokenizer: %w", err)
	}
	exact := native > 0

	e := &OpenAI{
		client:      client,
		opts:        opts,
		model:       model,
		enc:         enc,
		exactTokens: exact,
		log:         opts.Logger,
	}
	e.dims.Store(int64(dims))
	return e, nil
}

// Model is the configured model name, followed by "@" and the configured
// Dimensions when those shorten the model's vectors, e.g.
// "text-embedding-3-small@512".
func (e *OpenAI) Model() string { return e.model }

// Dimensions is the configured Dimensions, else the native size of a known
// OpenAI model. For other models it is 0 until the first successful Embed,
// which learns the size from the response; every later response must match
// it.
func (e *OpenAI) Dimensions() int { return int(e.dims.Load()) }

// Usage returns the requests answered so far and the prompt tokens they
// were billed for, as the server reported them (our own count where the
// server reports none).
func (e *OpenAI) Usage() (requests, tokens int64) {
	return e.requests.Load(), e.tokens.Load()
}

// Embed returns one vector per text, in order.
//
// An empty text is sent as a single space, since the API rejects empty
// inputs and one event's missing text must not fail its whole batch; its
// vector carries no meaning. Text that is not valid UTF-8 is sent with
// U+FFFD in place of its invalid bytes, as JSON encoding would do anyway.
func (e *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, _, err := e.EmbedMetered(ctx, texts)
	return vecs, err
}

var _ Metered = (*OpenAI)(nil)

// EmbedMetered is Embed, also returning the requests answered and the
// tokens billed for them, by this call alone (Usage sums every call).
func (e *OpenAI) EmbedMetered(ctx context.Context, texts []string) ([][]float32, Usage, error) {
	var usage Usage
	if len(texts) == 0 {
		return [][]float32{}, usage, nil
	}
	inputs := make([]string, len(texts))
	counts := make([]int, len(texts))
	truncated := 0
	for i, t := range texts {
		var cut bool
		inputs[i], counts[i], cut = e.prepare(t)
		if cut {
			truncated++
		}
	}
	if truncated > 0 {
		e.log.Info("truncated embedding inputs", "model", e.model, "inputs", truncated, "of", len(texts), "max_tokens", e.opts.MaxInputTokens, "exact", e.exactTokens)
	}

	out := make([][]float32, len(texts))
	batches := e.batches(counts)
	for b, bt := range batches {
		req := openai.EmbeddingRequestStrings{
			Input:          inputs[bt.start:bt.end],
			Model:          openai.EmbeddingModel(e.opts.Model),
			Dimensions:     e.opts.Dimensions, // omitted from the JSON when 0
			EncodingFormat: openai.EmbeddingEncodingFormatFloat,
		}
		e.log.Debug("embedding request", "model", e.model, "request", b+1, "of", len(batches), "inputs", bt.end-bt.start, "tokens", bt.tokens)
		resp, err := e.client.CreateEmbeddings(openaiclient.WithTokens(ctx, bt.tokens), req)
		if err != nil {
			return nil, usage, fmt.Errorf("embeddings: request %d of %d (%d inputs): %w", b+1, len(batches), bt.end-bt.start, describe(err))
		}
		if err := e.collect(resp, bt.start, out[bt.start:bt.end]); err != nil {
			return nil, usage, err
		}
		used := resp.Usage.PromptTokens
		if used <= 0 {
			used = bt.tokens
		}
		e.requests.Add(1)
		e.tokens.Add(int64(used))
		usage.Requests++
		usage.Tokens += used
	}
	return out, usage, nil
}

// prepare returns the text to send for t, its token count, and whether it
// was truncated.
func (e *OpenAI) prepare(t string) (string, int, bool) {
	t = strings.ToValidUTF8(t, "\uFFFD")
	if t == "" {
		t = " "
	}
	limit := e.opts.MaxInputTokens
	// Tokenizing is slow and linear in the text, so a huge text is first
	// cut to a prefix far longer than limit tokens can span in ordinary
	// text (cl100k_base averages about 4 bytes a token).
	const maxBytesPerToken = 64
	cut := false
	if n := limit * maxBytesPerToken; len(t) > n {
		t = validPrefix(t[:n])
		cut = true
	}
	toks := e.enc.EncodeOrdinary(t)
	if len(toks) <= limit {
		return t, len(toks), cut
	}
	// Decoding the first limit tokens may end in half a character, and
	// re-encoding a prefix can, rarely, split its end differently; so the
	// decoded prefix is re-counted and shortened until it fits.
	for n := limit; n > 0; {
		s := validPrefix(e.enc.Decode(toks[:n]))
		c := len(e.enc.EncodeOrdinary(s))
		if s != "" && c <= limit {
			return s, c, true
		}
		n -= max(c-limit, 1)
	}
	// Only reachable when limit is a token or two and the text starts with
	// a character that takes more.
	return " ", 1, true
}

// validPrefix drops an incomplete UTF-8 sequence from the end of s.
func validPrefix(s string) string {
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

type batch struct{ start, end, tokens int }

// batches groups consecutive inputs greedily into requests of at most
// MaxBatchInputs inputs and MaxBatchTokens tokens.
func (e *OpenAI) batches(counts []int) []batch {
	var bs []batch
	cur := batch{}
	for i, c := range counts {
		if cur.end > cur.start && (cur.end-cur.start >= e.opts.MaxBatchInputs || cur.tokens+c > e.opts.MaxBatchTokens) {
			bs = append(bs, cur)
			cur = batch{start: i, end: i}
		}
		cur.end = i + 1
		cur.tokens += c
	}
	return append(bs, cur)
}

// collect checks resp against the len(out) inputs starting at input first
// and stores its vectors in out by their index.
func (e *OpenAI) collect(resp openai.EmbeddingResponse, first int, out [][]float32) error {
	if len(resp.Data) != len(out) {
		return fmt.Errorf("embeddings: response has %d vectors for %d inputs", len(resp.Data), len(out))
	}
	// All vectors of one response must agree before the first of them may
	// teach us the model's size.
	size := -1
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(out) {
			return fmt.Errorf("embeddings: response index %d out of range for %d inputs", d.Index, len(out))
		}
		if out[d.Index] != nil {
			return fmt.Errorf("embeddings: response has index %d twice", d.Index)
		}
		i := first + d.Index
		if len(d.Embedding) == 0 {
			return fmt.Errorf("embeddings: vector of input %d is empty", i)
		}
		if size < 0 {
			size = len(d.Embedding)
		} else if len(d.Embedding) != size {
			return fmt.Errorf("embeddings: vector of input %d has %d dimensions, others %d", i, len(d.Embedding), size)
		}
		zero := true
		for j, v := range d.Embedding {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("embeddings: vector of input %d has non-finite value %v at %d", i, v, j)
			}
			zero = zero && v == 0
		}
		if zero {
			// Its cosine distance to anything is undefined (NaN): it
			// would poison every search it takes part in.
			return fmt.Errorf("embeddings: vector of input %d is all zeros", i)
		}
		out[d.Index] = d.Embedding
	}
	e.dims.CompareAndSwap(0, int64(size))
	if want := e.Dimensions(); size != want {
		return fmt.Errorf("embeddings: response vectors have %d dimensions, want %d", size, want)
	}
	return nil
}

// describe marks errors that go-openai returns bare when a successful
// response's body is not the JSON it expects (a proxy's HTML page, a body
// cut short), which would otherwise read as "unexpected EOF" or "invalid
// character '<' looking for beginning of value".
func describe(err error) error {
	var (
		apiErr    *openai.APIError
		reqErr    *openai.RequestError
		urlErr    *url.Error
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	if errors.As(err, &apiErr) || errors.As(err, &reqErr) || errors.As(err, &urlErr) {
		return err
	}
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("malformed response: %w", err)
	}
	return err
}
