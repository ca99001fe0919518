package main

import (
	"fmt"
	"log/slog"

	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/analyzer"
	"github.com/relator/relator/config"
	"github.com/relator/relator/embeddings"
	"github.com/relator/relator/internal/openaiclient"
	"github.com/relator/relator/internal/ratelimit"
)

// newEmbedder builds the embedder the configuration selects: the offline
// one unless an API key (or RELATOR_EMBEDDER=openai) says otherwise.
func newEmbedder(cfg config.Config, log *slog.Logger) (embeddings.Embedder, error) {
	if cfg.EmbeddingProvider() == config.Offline {
		return embeddings.NewOffline(embeddings.OfflineOptions{Dimensions: cfg.EmbeddingDimensions}), nil
	}
	_, limits := cfg.RateLimits()
	e, err := embeddings.NewOpenAI(newOpenAIClient(cfg, log), embeddings.OpenAIOptions{
		Model:          cfg.EmbeddingModel,
		Dimensions:     cfg.EmbeddingDimensions,
		MaxBatchTokens: batchTokens(limits.TokensPerMinute),
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("embedder: %w", err)
	}
	return e, nil
}

// newClassifier builds the classifier the configuration selects: the
// offline rules unless an API key (or RELATOR_CLASSIFIER=openai) says
// otherwise. The openai classifier records its calls in calls, and reuses
// the answers stored there (nil: no log, for commands that make no calls).
func newClassifier(cfg config.Config, log *slog.Logger, calls analyzer.CallLog) (analyzer.Classifier, error) {
	if cfg.ClassifierProvider() == config.Offline {
		return analyzer.NewOffline(analyzer.OfflineOptions{}), nil
	}
	c, err := analyzer.NewOpenAI(newOpenAIClient(cfg, log), analyzer.OpenAIOptions{Model: cfg.ChatModel, PromptBudget: cfg.PromptBudget, Logger: log,
		Calls: calls})
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	return c, nil
}

// batchTokens caps an embeddings request at the tokens-per-minute limit,
// which no larger request could ever pass, but never below one whole input.
func batchTokens(tpm int) int {
	if tpm <= 0 {
		return 0 // the default
	}
	return max(min(tpm, embeddings.DefaultMaxBatchTokens), embeddings.DefaultMaxInputTokens)
}

func newOpenAIClient(cfg config.Config, log *slog.Logger) *openai.Client {
	retries := cfg.MaxRetries
	if retries == 0 {
		retries = -1 // openaiclient reads 0 as "default"
	}
	chat, embed := cfg.RateLimits()
	var azure *openaiclient.Azure
	if cfg.APIType == config.AzureAPI {
		azure = &openaiclient.Azure{APIVersion: cfg.AzureAPIVersion, Deployments: cfg.AzureDeployments}
	}
	return openaiclient.New(openaiclient.Options{
		BaseURL:    cfg.OpenAIBaseURL,
		APIKey:     cfg.OpenAIAPIKey,
		Azure:      azure,
		MaxRetries: retries,
		Timeout:    cfg.RequestTimeout,
		Chat:       ratelimit.Limits{RequestsPerMinute: chat.RequestsPerMinute, TokensPerMinute: chat.TokensPerMinute},
		Embeddings: ratelimit.Limits{RequestsPerMinute: embed.RequestsPerMinute, TokensPerMinute: embed.TokensPerMinute},
		Logger:     log,
	})
}

// newBatcher is the Batch API of the openai classifier, or nil for the
// offline one (which has nothing to batch) and for Azure's deployment API,
// whose batches (a global-batch deployment, its own paths) relator does
// not speak.
func newBatcher(cfg config.Config, log *slog.Logger, c analyzer.Classifier) (*analyzer.Batcher, error) {
	if _, ok := c.(*analyzer.OpenAI); !ok || cfg.APIType == config.AzureAPI {
		return nil, nil
	}
	b, err := analyzer.NewBatcher(c, analyzer.BatchOptions{API: analyzer.OpenAIBatches{Client: newOpenAIClient(cfg, log)},
		MaxRequests: cfg.BatchMaxRequests, MaxBytes: int64(cfg.BatchMaxBytes)})
	if err != nil {
		return nil, fmt.Errorf("batches: %w", err)
	}
	return b, nil
}
