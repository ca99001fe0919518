package tokens_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/relator/relator/internal/tokens"
)

func TestEncodingFor(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-4o":                   tokens.O200K,
		"gpt-4o-mini":              tokens.O200K,
		"gpt-4o-2024-08-06":        tokens.O200K,
		"GPT-4o-Mini":              tokens.O200K,
		"chatgpt-4o-latest":        tokens.O200K,
		"gpt-4.1":                  tokens.O200K,
		"gpt-4.1-nano":             tokens.O200K,
		"gpt-4.5-preview":          tokens.O200K,
		"gpt-5":                    tokens.O200K,
		"gpt-5-mini":               tokens.O200K,
		"o1":                       tokens.O200K,
		"o1-preview":               tokens.O200K,
		"o3-mini":                  tokens.O200K,
		"o4-mini":                  tokens.O200K,
		"ft:gpt-4o-mini:acme::abc": tokens.O200K,
		"openai/gpt-4.1":           tokens.O200K,
		"gpt-4":                    tokens.CL100K,
		"gpt-4-turbo":              tokens.CL100K,
		"gpt-3.5-turbo":            tokens.CL100K,
		"text-embedding-3-small":   tokens.CL100K,
		"llama3.1":                 tokens.CL100K,
		"o10-local":                tokens.CL100K, // not the o1 family
		"gpt-40":                   tokens.CL100K,
		"":                         tokens.CL100K,
	} {
		if got := tokens.EncodingFor(model); got != want {
			t.Errorf("EncodingFor(%q) = %s; want %s", model, got, want)
		}
	}
}

func TestCountUsesTheModelsEncoding(t *testing.T) {
	// Text whose two encodings differ: o200k_base has far more non-English
	// tokens.
	text := "Переговоры в Исламабаде установили основу для будущих переговоров."
	o, err := tokens.Count("gpt-4o-mini", text)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tokens.Count("gpt-4", text)
	if err != nil {
		t.Fatal(err)
	}
	if o >= c {
		t.Fatalf("o200k_base %d tokens, cl100k_base %d; want fewer with o200k_base", o, c)
	}
	if n, _ := tokens.Count("gpt-4o", "hello world"); n != 2 {
		t.Fatalf("hello world: %d tokens; want 2", n)
	}
	// Special tokens in event text are plain text, not a control token.
	if n, _ := tokens.Count("gpt-4o", "<|endoftext|>"); n <= 1 {
		t.Fatalf("<|endoftext|> counted as %d token(s); want it counted as text", n)
	}
}

func TestChatCountsFraming(t *testing.T) {
	sys, _ := tokens.Count("gpt-4o", "You are terse.")
	user, _ := tokens.Count("gpt-4o", "Say hi.")
	role := func(r string) int { n, _ := tokens.Count("gpt-4o", r); return n }
	got, err := tokens.Chat("gpt-4o", tokens.Message{Role: "system", Content: "You are terse."}, tokens.Message{Role: "user", Content: "Say hi."})
	if err != nil {
		t.Fatal(err)
	}
	want := sys + user + role("system") + role("user") + 2*tokens.PerMessage + tokens.ReplyPrimer
	if got != want {
		t.Fatalf("Chat = %d; want %d", got, want)
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			model := "gpt-4o"
			if i%2 == 0 {
				model = "gpt-4"
			}
			if _, err := tokens.Count(model, "concurrent first use"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := tokens.Encoding("p50k_base"); err == nil {
		t.Fatal("want an error for an encoding relator does not use")
	}
}

func ExampleChat() {
	n, err := tokens.Chat("gpt-4o-mini",
		tokens.Message{Role: "system", Content: "You link news events."},
		tokens.Message{Role: "user", Content: "Is Event 1 related to the New Event?"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tokens.EncodingFor("gpt-4o-mini"), n)
	// Output: o200k_base 26
}
