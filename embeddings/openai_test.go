package embeddings_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/openaiclient"
)

// wireRequest is an embeddings request as the server received it.
type wireRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions"`
	// Fields holds every top-level field, to tell "dimensions" left out
	// from "dimensions": 0.
	Fields map[string]json.RawMessage `json:"-"`
}

type wireItem struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// fakeAPI speaks the OpenAI embeddings wire format: POST /embeddings
// answers with one vector per input, of the requested dimensions or else
// of dims, with usage.prompt_tokens = promptTokens per input.
type fakeAPI struct {
	srv          *httptest.Server
	dims         int
	promptTokens int
	// reverse lists the data items last input first.
	reverse bool
	// respond, when set, may answer call n (1-based) itself by returning
	// true.
	respond func(n int, req wireRequest, w http.ResponseWriter) bool

	mu   sync.Mutex
	reqs []wireRequest
}

func newFakeAPI(t testing.TB, dims int) *fakeAPI {
	f := &fakeAPI{dims: dims, promptTokens: 1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/embeddings" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	json.Unmarshal(body, &req.Fields)
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.mu.Unlock()
	if f.respond != nil && f.respond(n, req, w) {
		return
	}
	dims := f.dims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	items := make([]wireItem, len(req.Input))
	for i, in := range req.Input {
		items[i] = wireItem{Object: "embedding", Index: i, Embedding: vector(in, dims)}
	}
	if f.reverse {
		slices.Reverse(items)
	}
	writeData(w, req.Model, items, f.promptTokens*len(req.Input))
}

func writeData(w http.ResponseWriter, model string, items []wireItem, tokens int) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list",
		"data":   items,
		"model":  model,
		"usage":  map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

func (f *fakeAPI) requests() []wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fakeAPI) client() *openai.Client {
	return openaiclient.New(openaiclient.Options{
		BaseURL:    f.srv.URL,
		APIKey:     "test",
		MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond,
		Logger:     quiet,
	})
}

var quiet = slog.New(slog.DiscardHandler)

func (f *fakeAPI) embedder(t testing.TB, opts embeddings.OpenAIOptions) *embeddings.OpenAI {
	t.Helper()
	if opts.Model == "" {
		opts.Model = "text-embedding-3-small"
	}
	opts.Logger = quiet
	e, err := embeddings.NewOpenAI(f.client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// vector is the fake model's embedding of s: a hash of s, then its length,
// then a ramp.
func vector(s string, dims int) []float32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	v := make([]float32, dims)
	for i := range v {
		switch i {
		case 0:
			v[i] = float32(h.Sum32() % 10000)
		case 1:
			v[i] = float32(len(s))
		default:
			v[i] = float32(i) / float32(dims)
		}
	}
	return v
}

func inputSizes(reqs []wireRequest) []int {
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.Input))
	}
	return sizes
}

// cl100k counts tokens independently of the embedder. NewOpenAI has set
// tiktoken's offline loader by the time this is called.
func cl100k(t *testing.T) *tiktoken.Tiktoken {
	t.Helper()
	enc, err := tiktoken.GetEncoding("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func checkVectors(t *testing.T, got [][]float32, texts []string, dims int) {
	t.Helper()
	if len(got) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(got), len(texts))
	}
	for i, s := range texts {
		if want := vector(s, dims); !slices.Equal(got[i], want) {
			t.Errorf("vector %d = %v...; want that of %q, %v...", i, got[i][:2], s, want[:2])
		}
	}
}

func TestOpenAIBatchesByInputs(t *testing.T) {
	f := newFakeAPI(t, 1536)
	f.reverse = true
	e := f.embedder(t, embeddings.OpenAIOptions{MaxBatchInputs: 3})
	texts := []string{"zero", "one", "two", "three", "four", "five", "six"}
	got, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, texts, 1536)
	reqs := f.requests()
	if sizes := inputSizes(reqs); !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Fatalf("request sizes %v; want [3 3 1]", sizes)
	}
	var sent []string
	for _, r := range reqs {
		sent = append(sent, r.Input...)
		if r.Model != "text-embedding-3-small" || r.EncodingFormat != "float" {
			t.Errorf("request model %q, encoding %q", r.Model, r.EncodingFormat)
		}
	}
	if !slices.Equal(sent, texts) {
		t.Errorf("sent %q; want %q in order", sent, texts)
	}
	if req, tok := e.Usage(); req != 3 || tok != 7 {
		t.Errorf("Usage() = %d, %d; want 3 requests, 7 tokens as the server reported", req, tok)
	}
}

func TestOpenAIBatchesByTokens(t *testing.T) {
	f := newFakeAPI(t, 1536)
	f.reverse = true
	f.promptTokens = 0 // the server reports no usage: our counts are kept
	e := f.embedder(t, embeddings.OpenAIOptions{MaxBatchTokens: 8, MaxInputTokens: 8})
	texts := []string{"a b c d", "e f g h", "i j", "k l m n o p", "q"}
	enc := cl100k(t)
	var counts []int
	total := 0
	for _, s := range texts {
		counts = append(counts, len(enc.EncodeOrdinary(s)))
		total += counts[len(counts)-1]
	}
	if !slices.Equal(counts, []int{4, 4, 2, 6, 1}) {
		t.Fatalf("token counts %v; the test assumes [4 4 2 6 1]", counts)
	}
	got, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, texts, 1536)
	if sizes := inputSizes(f.requests()); !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Fatalf("request sizes %v; want [2 2 1] for at most 8 tokens each", sizes)
	}
	if req, tok := e.Usage(); req != 3 || tok != int64(total) {
		t.Errorf("Usage() = %d, %d; want 3 requests, %d tokens", req, tok, total)
	}
}

func TestOpenAIEmbedNothing(t *testing.T) {
	f := newFakeAPI(t, 1536)
	got, err := f.embedder(t, embeddings.OpenAIOptions{}).Embed(context.Background(), nil)
	if err != nil || len(got) != 0 || len(f.requests()) != 0 {
		t.Fatalf("Embed(nil) = %v, %v after %d requests; want nothing and no request", got, err, len(f.requests()))
	}
}

func TestOpenAIRetriesRateLimitHonouringRetryAfter(t *testing.T) {
	f := newFakeAPI(t, 1536)
	f.respond = func(n int, _ wireRequest, w http.ResponseWriter) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"rate limited","type":"requests"}}`)
		return true
	}
	e := f.embedder(t, embeddings.OpenAIOptions{})
	start := time.Now()
	got, err := e.Embed(context.Background(), []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("took %v; Retry-After asked for 1s", waited)
	}
	checkVectors(t, got, []string{"x", "y"}, 1536)
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests; want 2", n)
	}
	if req, _ := e.Usage(); req != 1 {
		t.Errorf("Usage() counts %d requests; want the 1 answered", req)
	}
}

func TestOpenAIRetriesServerErrors(t *testing.T) {
	f := newFakeAPI(t, 1536)
	f.respond = func(n int, _ wireRequest, w http.ResponseWriter) bool {
		switch n {
		case 1:
			http.Error(w, `{"error":{"message":"internal"}}`, http.StatusInternalServerError)
		case 2:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		default:
			return false
		}
		return true
	}
	got, err := f.embedder(t, embeddings.OpenAIOptions{}).Embed(context.Background(), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, got, []string{"x"}, 1536)
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests; want 3", n)
	}
}

func TestOpenAIMalformedResponse(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		status            int
		body              string
		want              string
	}{
		{"truncated json", "application/json", 200, `{"object":"list","data": [`, "malformed response: unexpected EOF"},
		{"html", "text/html", 200, "<html><body>Gateway</body></html>", "malformed response: invalid character '<'"},
		{"empty body", "application/json", 200, "", "malformed response: EOF"},
		{"out of range number", "application/json", 200, `{"data":[{"index":0,"embedding":[1e999]}]}`, "malformed response: json: cannot unmarshal number 1e999"},
		{"error object with 200", "application/json", 200, `{"error":{"message":"boom"}}`, "response has 0 vectors for 1 inputs"},
		{"html error page", "text/html", 404, "<html>Not Found</html>", "(HTTP 404): <html>Not Found</html>"}, // a wrong base URL: fatal
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, 1536)
			f.respond = func(_ int, _ wireRequest, w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
				return true
			}
			e := f.embedder(t, embeddings.OpenAIOptions{})
			got, err := e.Embed(context.Background(), []string{"x"})
			if err == nil || !strings.HasPrefix(err.Error(), "embeddings: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Embed = %v, %v; want an error containing %q", got, err, tc.want)
			}
			if req, _ := e.Usage(); req != 0 {
				t.Errorf("Usage() counts %d requests; want 0 answered", req)
			}
		})
	}
}

func TestOpenAIWrongResponse(t *testing.T) {
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 0.5
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		items []wireItem
		want  string
	}{
		{"too few", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: vec(4)}}, "embeddings: response has 2 vectors for 3 inputs"},
		{"too many", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: vec(4)}, {Index: 2, Embedding: vec(4)}, {Index: 3, Embedding: vec(4)}}, "embeddings: response has 4 vectors for 3 inputs"},
		{"index twice", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 0, Embedding: vec(4)}, {Index: 2, Embedding: vec(4)}}, "embeddings: response has index 0 twice"},
		{"index out of range", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: vec(4)}, {Index: 3, Embedding: vec(4)}}, "embeddings: response index 3 out of range for 3 inputs"},
		{"empty vector", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: nil}, {Index: 2, Embedding: vec(4)}}, "embeddings: vector of input 1 is empty"},
		{"ragged", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: vec(4)}, {Index: 2, Embedding: vec(3)}}, "embeddings: vector of input 2 has 3 dimensions, others 4"},
		{"all zeros", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: make([]float32, 4)}, {Index: 2, Embedding: vec(4)}}, "embeddings: vector of input 1 is all zeros"},
		{"wrong dimensions", []wireItem{{Index: 0, Embedding: vec(4)}, {Index: 1, Embedding: vec(4)}, {Index: 2, Embedding: vec(4)}}, "embeddings: response vectors have 4 dimensions, want 1536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, 1536)
			f.respond = func(_ int, req wireRequest, w http.ResponseWriter) bool {
				writeData(w, req.Model, tc.items, 3)
				return true
			}
			got, err := f.embedder(t, embeddings.OpenAIOptions{}).Embed(context.Background(), []string{"a", "b", "c"})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Embed = %v, %v; want error %q", got, err, tc.want)
			}
		})
	}
}

func TestOpenAITruncatesLongInputs(t *testing.T) {
	f := newFakeAPI(t, 1536)
	e := f.embedder(t, embeddings.OpenAIOptions{MaxInputTokens: 10})
	enc := cl100k(t)
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	cjk := strings.Repeat("日本語のテキストを埋め込む。", 10)
	texts := []string{long, cjk, "short text", "", "bad \xff utf-8"}
	if n := len(enc.EncodeOrdinary(long)); n <= 10 {
		t.Fatalf("long text has only %d tokens", n)
	}
	if _, err := e.Embed(context.Background(), texts); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || len(reqs[0].Input) != len(texts) {
		t.Fatalf("requests %v; want one of %d inputs", inputSizes(reqs), len(texts))
	}
	sent := reqs[0].Input
	if n := len(enc.EncodeOrdinary(sent[0])); n != 10 || !strings.HasPrefix(long, sent[0]) {
		t.Errorf("sent %q, %d tokens; want the first 10 tokens of the long text", sent[0], n)
	}
	if n := len(enc.EncodeOrdinary(sent[1])); n > 10 || n < 5 || !utf8.ValidString(sent[1]) || !strings.HasPrefix(cjk, sent[1]) {
		t.Errorf("sent %q, %d tokens; want a valid prefix of the CJK text of at most 10 tokens", sent[1], n)
	}
	if sent[2] != "short text" {
		t.Errorf("sent %q; want a short text unchanged", sent[2])
	}
	if sent[3] != " " {
		t.Errorf("sent %q for an empty text; want a single space", sent[3])
	}
	if sent[4] != "bad \uFFFD utf-8" {
		t.Errorf("sent %q for invalid UTF-8; want U+FFFD in its place", sent[4])
	}
}

func TestOpenAIDimensions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      embeddings.OpenAIOptions
		serverDim int
		wantModel string
		wantSent  int // 0: no "dimensions" field
		before    int // Dimensions() before any Embed
		after     int
	}{
		{"native", embeddings.OpenAIOptions{Model: "text-embedding-3-small"}, 1536, "text-embedding-3-small", 0, 1536, 1536},
		{"shortened", embeddings.OpenAIOptions{Model: "text-embedding-3-small", Dimensions: 256}, 1536, "text-embedding-3-small@256", 256, 256, 256},
		{"native size asked", embeddings.OpenAIOptions{Model: "text-embedding-3-large", Dimensions: 3072}, 3072, "text-embedding-3-large", 3072, 3072, 3072},
		{"ada", embeddings.OpenAIOptions{Model: "text-embedding-ada-002"}, 1536, "text-embedding-ada-002", 0, 1536, 1536},
		{"unknown model learned", embeddings.OpenAIOptions{Model: "nomic-embed-text"}, 768, "nomic-embed-text", 0, 0, 768},
		{"unknown model shortened", embeddings.OpenAIOptions{Model: "nomic-embed-text", Dimensions: 512}, 768, "nomic-embed-text@512", 512, 512, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, tc.serverDim)
			e := f.embedder(t, tc.opts)
			if e.Model() != tc.wantModel || e.Dimensions() != tc.before {
				t.Fatalf("Model(), Dimensions() = %q, %d; want %q, %d", e.Model(), e.Dimensions(), tc.wantModel, tc.before)
			}
			got, err := e.Embed(context.Background(), []string{"x"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got[0]) != tc.after || e.Dimensions() != tc.after {
				t.Fatalf("vector of %d, Dimensions() %d; want %d", len(got[0]), e.Dimensions(), tc.after)
			}
			req := f.requests()[0]
			raw, sent := req.Fields["dimensions"]
			if tc.wantSent == 0 && sent {
				t.Errorf("request has dimensions %s; want none", raw)
			}
			if tc.wantSent != 0 && req.Dimensions != tc.wantSent {
				t.Errorf("request has dimensions %d; want %d", req.Dimensions, tc.wantSent)
			}
		})
	}
}

func TestOpenAIServerIgnoringDimensions(t *testing.T) {
	f := newFakeAPI(t, 768)
	f.respond = func(_ int, req wireRequest, w http.ResponseWriter) bool {
		writeData(w, req.Model, []wireItem{{Embedding: vector(req.Input[0], 768)}}, 1)
		return true
	}
	e := f.embedder(t, embeddings.OpenAIOptions{Model: "nomic-embed-text", Dimensions: 512})
	_, err := e.Embed(context.Background(), []string{"x"})
	if want := "embeddings: response vectors have 768 dimensions, want 512"; err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
}

func TestOpenAILearnsDimensionsOnce(t *testing.T) {
	f := newFakeAPI(t, 768)
	size := 768
	var mu sync.Mutex
	f.respond = func(_ int, req wireRequest, w http.ResponseWriter) bool {
		mu.Lock()
		defer mu.Unlock()
		items := make([]wireItem, len(req.Input))
		for i, in := range req.Input {
			n := size
			if n < 0 { // ragged: the first vector is one short
				n = 4 - min(i, 1)
			}
			items[i] = wireItem{Index: i, Embedding: vector(in, n)}
		}
		writeData(w, req.Model, items, len(items))
		return true
	}
	setSize := func(n int) { mu.Lock(); size = n; mu.Unlock() }
	e := f.embedder(t, embeddings.OpenAIOptions{Model: "nomic-embed-text"})

	// A response that contradicts itself teaches nothing.
	setSize(-1)
	_, err := e.Embed(context.Background(), []string{"a", "b"})
	if want := "embeddings: vector of input 1 has 3 dimensions, others 4"; err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
	if d := e.Dimensions(); d != 0 {
		t.Fatalf("Dimensions() = %d after a ragged response; want still 0", d)
	}

	setSize(768)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			texts := []string{fmt.Sprint("text ", i), "other"}
			got, err := e.Embed(context.Background(), texts)
			if err != nil {
				t.Error(err)
				return
			}
			checkVectors(t, got, texts, 768)
		})
	}
	wg.Wait()
	if d := e.Dimensions(); d != 768 {
		t.Fatalf("Dimensions() = %d; want 768 learned", d)
	}

	// Once learned, the size is fixed.
	setSize(1024)
	_, err = e.Embed(context.Background(), []string{"a", "b"})
	if want := "embeddings: response vectors have 1024 dimensions, want 768"; err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	f := newFakeAPI(t, 1536)
	client := f.client()
	for _, tc := range []struct {
		name   string
		client *openai.Client
		opts   embeddings.OpenAIOptions
		want   string
	}{
		{"nil client", nil, embeddings.OpenAIOptions{Model: "m"}, "embeddings: nil openai client"},
		{"no model", client, embeddings.OpenAIOptions{Model: "  "}, "embeddings: openai model is required"},
		{"negative dimensions", client, embeddings.OpenAIOptions{Model: "m", Dimensions: -1}, "embeddings: negative dimensions -1"},
		{"negative batch", client, embeddings.OpenAIOptions{Model: "m", MaxBatchInputs: -2}, "embeddings: negative max batch inputs -2"},
		{"input over batch", client, embeddings.OpenAIOptions{Model: "m", MaxBatchTokens: 100, MaxInputTokens: 200}, "embeddings: max input tokens 200 exceed max batch tokens 100"},
		{"default input over batch", client, embeddings.OpenAIOptions{Model: "m", MaxBatchTokens: 100}, "embeddings: max input tokens 8191 exceed max batch tokens 100"},
		{"ada shortened", client, embeddings.OpenAIOptions{Model: "text-embedding-ada-002", Dimensions: 512}, "embeddings: model text-embedding-ada-002 does not support dimensions"},
		{"beyond native", client, embeddings.OpenAIOptions{Model: "text-embedding-3-small", Dimensions: 2048}, "embeddings: model text-embedding-3-small has at most 1536 dimensions, not 2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := embeddings.NewOpenAI(tc.client, tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("NewOpenAI = %v, %v; want error %q", e, err, tc.want)
			}
		})
	}
}

func TestOpenAIContextCanceled(t *testing.T) {
	f := newFakeAPI(t, 1536)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.embedder(t, embeddings.OpenAIOptions{}).Embed(ctx, []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v; want context canceled", err)
	}
}

func ExampleNewOpenAI() {
	// A stand-in for https://api.openai.com/v1 that embeds every text as
	// [its length, 1, 0, 0].
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Input      []string `json:"input"`
			Model      string   `json:"model"`
			Dimensions int      `json:"dimensions"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		data := make([]map[string]any, len(req.Input))
		for i, in := range req.Input {
			v := make([]float32, req.Dimensions)
			v[0], v[1] = float32(len(in)), 1
			data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": 2 * len(req.Input), "total_tokens": 2 * len(req.Input)},
		})
	}))
	defer srv.Close()

	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "sk-..."})
	e, err := embeddings.NewOpenAI(client, embeddings.OpenAIOptions{
		Model:      "text-embedding-3-small",
		Dimensions: 4,
	})
	if err != nil {
		panic(err)
	}
	vecs, err := e.Embed(context.Background(), []string{"hello", "relator"})
	if err != nil {
		panic(err)
	}
	requests, tokens := e.Usage()
	fmt.Println(e.Model(), e.Dimensions())
	fmt.Println(vecs)
	fmt.Println(requests, "request,", tokens, "tokens")
	// Output:
	// text-embedding-3-small@4 4
	// [[5 1 0 0] [7 1 0 0]]
	// 1 request, 4 tokens
}
