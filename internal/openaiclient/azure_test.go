package openaiclient_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/openaiclient"
)

// wire is a request as a fake server saw it.
type wire struct {
	method, path, query, apiKey, authorization string
}

// recorder answers chat completions and embeddings wherever they are asked
// for and records every request.
func recorder(t *testing.T) (*httptest.Server, func() []wire) {
	t.Helper()
	var mu sync.Mutex
	var seen []wire
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, wire{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("api-key"), r.Header.Get("Authorization")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/embeddings") {
			io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.5]}],"usage":{"prompt_tokens":1,"total_tokens":1}}`)
			return
		}
		io.WriteString(w, `{"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"{}"}}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []wire {
		mu.Lock()
		defer mu.Unlock()
		return append([]wire(nil), seen...)
	}
}

func callBoth(t *testing.T, c *openai.Client, chatModel, embedModel string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{Model: chatModel,
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{Model: openai.EmbeddingModel(embedModel), Input: []string{"hi"}}); err != nil {
		t.Fatal(err)
	}
}

func TestAzureDeploymentAPI(t *testing.T) {
	srv, seen := recorder(t)
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL, APIKey: "azure-key", Logger: quiet,
		Azure: &openaiclient.Azure{Deployments: map[string]string{"gpt-4o-mini": "my-deploy", "text-embedding-3-small": "emb"}}})
	callBoth(t, client, "gpt-4o-mini", "text-embedding-3-small")
	callBoth(t, client, "gpt-4.1", "text-embedding-3-large") // not mapped: the model's own name
	want := []wire{
		{"POST", "/openai/deployments/my-deploy/chat/completions", "api-version=2024-10-21", "azure-key", ""},
		{"POST", "/openai/deployments/emb/embeddings", "api-version=2024-10-21", "azure-key", ""},
		{"POST", "/openai/deployments/gpt-4.1/chat/completions", "api-version=2024-10-21", "azure-key", ""},
		{"POST", "/openai/deployments/text-embedding-3-large/embeddings", "api-version=2024-10-21", "azure-key", ""},
	}
	if got := seen(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests\n%v\nwant\n%v", got, want)
	}

	srv, seen = recorder(t)
	client = openaiclient.New(openaiclient.Options{BaseURL: srv.URL + "/", APIKey: "azure-key", Logger: quiet,
		Azure: &openaiclient.Azure{APIVersion: "2025-04-01-preview"}})
	callBoth(t, client, "gpt-4o-mini", "text-embedding-3-small")
	if got := seen(); len(got) != 2 || got[0].path != "/openai/deployments/gpt-4o-mini/chat/completions" || got[0].query != "api-version=2025-04-01-preview" {
		t.Fatalf("requests %v", got)
	}
}

// TestAzureV1EndpointIsOpenAICompatible: Azure's v1 endpoint needs no Azure
// mode: the OpenAI paths under /openai/v1/, a bearer key, no api-version,
// the deployment as the model.
func TestAzureV1EndpointIsOpenAICompatible(t *testing.T) {
	srv, seen := recorder(t)
	client := openaiclient.New(openaiclient.Options{BaseURL: srv.URL + "/openai/v1/", APIKey: "azure-key", Logger: quiet})
	callBoth(t, client, "my-deploy", "emb")
	want := []wire{
		{"POST", "/openai/v1/chat/completions", "", "", "Bearer azure-key"},
		{"POST", "/openai/v1/embeddings", "", "", "Bearer azure-key"},
	}
	if got := seen(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests\n%v\nwant\n%v", got, want)
	}
}
