// Package tokens counts text as OpenAI's models count it, with tiktoken-go
// and the tokenizer files compiled into the binary by tiktoken-go-loader:
// nothing is downloaded, so counting works on a machine without internet
// access. It is what prompt budgets, rate limits and cost estimates count
// with.
//
// For models of other servers (Ollama, vLLM, LM Studio), whose tokenizers
// relator does not have, the counts are estimates: close enough to budget
// and limit by, not what such a server would report.
package tokens

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encodings relator counts with.
const (
	O200K  = "o200k_base"  // gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series
	CL100K = "cl100k_base" // gpt-4, gpt-3.5, OpenAI's embedding models, and the estimate for any other model
)

// o200kFamilies are the model name prefixes of the o200k_base encoding.
var o200kFamilies = []string{"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4"}

// EncodingFor names the encoding model's tokens are counted in: O200K for
// the gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3 and o4 families (dated
// snapshots such as gpt-4o-2024-08-06 and fine-tunes "ft:gpt-4o-mini:…"
// included), CL100K for every other model.
func EncodingFor(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	m = strings.TrimPrefix(m, "ft:")
	m = m[strings.LastIndexByte(m, '/')+1:] // "openai/gpt-4o" as routers name it
	for _, p := range o200kFamilies {
		if m == p || strings.HasPrefix(m, p+"-") || strings.HasPrefix(m, p+":") {
			return O200K
		}
	}
	return CL100K
}

// loaders build each encoding once per process: building one takes tens
// of milliseconds, and the result is read-only and safe for concurrent use.
var loaders = map[string]func() (*tiktoken.Tiktoken, error){
	O200K:  sync.OnceValues(func() (*tiktoken.Tiktoken, error) { return load(O200K) }),
	CL100K: sync.OnceValues(func() (*tiktoken.Tiktoken, error) { return load(CL100K) }),
}

// offline points tiktoken-go at the embedded tokenizer files. SetBpeLoader
// sets a variable of tiktoken-go without locking, so this is the one place
// in relator that calls it, once, before any encoding is loaded.
var offline = sync.OnceFunc(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })

func load(name string) (*tiktoken.Tiktoken, error) {
	offline()
	enc, err := tiktoken.GetEncoding(name)
	if err != nil {
		return nil, fmt.Errorf("tokens: load %s: %w", name, err)
	}
	return enc, nil
}

// Encoding returns the tokenizer of the encoding named (O200K or CL100K).
func Encoding(name string) (*tiktoken.Tiktoken, error) {
	get, ok := loaders[name]
	if !ok {
		return nil, fmt.Errorf("tokens: unknown encoding %q", name)
	}
	return get()
}

// ForModel returns the tokenizer of model's encoding (see EncodingFor).
func ForModel(model string) (*tiktoken.Tiktoken, error) {
	return Encoding(EncodingFor(model))
}

// Count returns how many tokens text is for model. Special tokens such as
// "<|endoftext|>" are counted as the ordinary text they are in a request.
func Count(model, text string) (int, error) {
	enc, err := ForModel(model)
	if err != nil {
		return 0, err
	}
	return len(enc.EncodeOrdinary(text)), nil
}
