// Package config reads relator's settings once, from environment variables
// with command-line flags overriding them, validates them and hands them
// down as a value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relator/relator/internal/price"
)

// DefaultDatabaseURL is where `make db` starts its private server.
const DefaultDatabaseURL = "postgres://relator@127.0.0.1:54329/relator?sslmode=disable"

// API types: the wire protocol of the model server.
const (
	OpenAIAPI = "openai" // OpenAI's API and every OpenAI-compatible server
	AzureAPI  = "azure"  // Azure OpenAI's deployment API
)

// Provider chooses between a model reached over the OpenAI API and the
// built-in offline algorithms.
type Provider string

// Providers.
const (
	Auto    Provider = "auto" // openai when an API key is set, offline otherwise
	OpenAI  Provider = "openai"
	Offline Provider = "offline"
)

// Config is every setting of relator. The zero value is not usable; get one
// from Load.
type Config struct {
	DatabaseURL string

	OpenAIAPIKey  string
	OpenAIBaseURL string // empty: OpenAI's own
	// APIType is OpenAIAPI, or AzureAPI for Azure OpenAI's deployment API.
	APIType string
	// AzureAPIVersion is the api-version of Azure's deployment API.
	AzureAPIVersion string
	// AzureDeployments maps models to Azure deployment names.
	AzureDeployments map[string]string

	Embedder            Provider
	EmbeddingModel      string
	EmbeddingDimensions int // 0: the model's native size
	EmbedBatchSize      int // events embedded and written per transaction

	Classifier Provider
	ChatModel  string
	// Concurrency is how many events are classified at once.
	Concurrency int

	TopK   int           // candidates retrieved per new event, 1..MaxTopK
	Window time.Duration // how far back candidates may lie; 0: no limit

	// PromptBudget is the most tokens one chat call's prompt may take.
	PromptBudget int

	MaxRetries int // retries of one model request on 429/5xx
	// RequestTimeout bounds one attempt of one model request.
	RequestTimeout time.Duration
	// ChatRPM, ChatTPM, EmbedRPM and EmbedTPM are the client-side rate
	// limits as set: a number (0: off) or Auto (-1); RateLimits resolves
	// them.
	ChatRPM, ChatTPM, EmbedRPM, EmbedTPM int

	// Lease is how long a claim on an event's analysis lasts unrenewed: a
	// crashed process's events wait this long for another to take them.
	Lease time.Duration
	// MaxAttempts is how often an analysis may fail before it is dead.
	MaxAttempts int
	// GracePeriod is how long in-flight model calls may take to finish
	// after SIGINT/SIGTERM before they are cancelled.
	GracePeriod time.Duration
	// Schedule is the cron spec of `relator schedule`.
	Schedule string
	// HTTPAddr is where `relator schedule` serves /healthz and /metrics.
	HTTPAddr string
	// HNSWM, HNSWEfConstruction and HNSWEfSearch are the HNSW index's
	// build and search parameters (0: relator's defaults).
	HNSWM, HNSWEfConstruction, HNSWEfSearch int
	// BulkIndexAt is how many events waiting for a vector make a pass
	// build the HNSW index after embedding them instead of before.
	BulkIndexAt int
	// BatchMaxRequests and BatchMaxBytes split a Batch API submission
	// (run --batch) into batches of at most this many requests and input
	// files of at most this many bytes: the provider's limits.
	BatchMaxRequests int
	BatchMaxBytes    int
	// ProgressEvery is the period of a backfill's progress line when its
	// output is not a terminal.
	ProgressEvery time.Duration
	// ReaskRejected has run, backfill and schedule write a pair a reviewer
	// rejected again as pending when a new prompt version or model finds
	// it; by default the rejection is remembered.
	ReaskRejected bool

	// PricesFile is RELATOR_PRICES, the file of per-model prices read into
	// Prices; PriceIn and PriceOut, when set (not negative), price the chat
	// model's input and output tokens over the table's.
	PricesFile        string
	PriceIn, PriceOut float64
	// Prices turns tokens into cost: the dated defaults, the file's prices
	// over them, then PriceIn/PriceOut for ChatModel. Filled by Load.
	Prices price.Table
	// MaxTokens and MaxCost are the budget of one pass's chat calls: chat
	// tokens in plus out, and US dollars (embedding spending included);
	// 0 means none.
	MaxTokens int
	MaxCost   float64
	// EarliestDate and LatestDate bound an event's occurred_at on import
	// (both days included): dates outside them are placeholders or typos.
	EarliestDate, LatestDate time.Time

	LogLevel  slog.Level
	LogFormat string // "text" or "json"
}

// setting is one row of the configuration table: its environment variable,
// flag, default and meaning. TestREADMEListsEverySetting keeps the README's
// table in step with this list.
type setting struct {
	env, flag, def, usage string
	set                   func(c *Config, v string) error
}

// emptySets tells the variables for which "" is a value (RELATOR_HTTP_ADDR=
// disables HTTP) rather than unset.
func emptySets(env string) bool { return env == "RELATOR_HTTP_ADDR" }

// boolSetting tells the settings whose flag may be given without a value
// (-reask-rejected), as the flag package's booleans.
func boolSetting(env string) bool { return env == "RELATOR_REASK_REJECTED" }

// boolFlag is a boolean setting's flag, kept as text like every other
// setting until Load parses it.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolFlag) Set(s string) error { *b.v = s; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

func settings() []setting {
	return []setting{
		{"DATABASE_URL", "database-url", DefaultDatabaseURL, "PostgreSQL connection URL",
			func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{"OPENAI_API_KEY", "openai-api-key", "", "API key; empty selects the offline embedder and classifier",
			func(c *Config, v string) error { c.OpenAIAPIKey = v; return nil }},
		{"OPENAI_BASE_URL", "openai-base-url", "", "OpenAI-compatible API base URL (empty: OpenAI's)",
			func(c *Config, v string) error { c.OpenAIBaseURL = v; return nil }},
		{"RELATOR_OPENAI_API_TYPE", "openai-api-type", OpenAIAPI, "openai (any OpenAI-compatible API, Azure's /openai/v1/ endpoint too) or azure (Azure OpenAI deployments)",
			func(c *Config, v string) error {
				if v != OpenAIAPI && v != AzureAPI {
					return errors.New("want openai or azure")
				}
				c.APIType = v
				return nil
			}},
		{"RELATOR_AZURE_API_VERSION", "azure-api-version", "2024-10-21", "api-version of Azure OpenAI's deployment API (needs structured outputs: 2024-08-01-preview or later)",
			func(c *Config, v string) error { c.AzureAPIVersion = v; return nil }},
		{"RELATOR_AZURE_DEPLOYMENTS", "azure-deployments", "", "Azure deployment of each model, e.g. gpt-4o-mini=chat,text-embedding-3-small=emb (unlisted: the model's name)",
			func(c *Config, v string) error { return setDeployments(&c.AzureDeployments, v) }},
		{"RELATOR_EMBEDDER", "embedder", string(Auto), "auto, openai or offline",
			func(c *Config, v string) error { return setProvider(&c.Embedder, v) }},
		{"RELATOR_EMBEDDING_MODEL", "embedding-model", "text-embedding-3-small", "embedding model of the openai embedder",
			func(c *Config, v string) error { c.EmbeddingModel = v; return nil }},
		{"RELATOR_EMBEDDING_DIMENSIONS", "embedding-dimensions", "0", "vector size (0: the model's own; offline: 1024)",
			func(c *Config, v string) error { return setInt(&c.EmbeddingDimensions, v, 0) }},
		{"RELATOR_EMBED_BATCH", "embed-batch", "256", "events embedded and written per transaction",
			func(c *Config, v string) error { return setInt(&c.EmbedBatchSize, v, 1) }},
		{"RELATOR_CLASSIFIER", "classifier", string(Auto), "auto, openai or offline",
			func(c *Config, v string) error { return setProvider(&c.Classifier, v) }},
		{"RELATOR_CHAT_MODEL", "chat-model", "gpt-4o-mini", "chat model of the openai classifier",
			func(c *Config, v string) error { c.ChatModel = v; return nil }},
		{"RELATOR_CONCURRENCY", "concurrency", "4", "events classified at once (concurrent model calls)",
			func(c *Config, v string) error { return setInt(&c.Concurrency, v, 1) }},
		{"RELATOR_TOP_K", "top-k", "15", "prior events retrieved as candidates per new event (at most 125)",
			func(c *Config, v string) error { return setIntIn(&c.TopK, v, 1, MaxTopK) }},
		{"RELATOR_WINDOW", "window", "0", "only candidates this far back, e.g. 720h (0: no limit)",
			func(c *Config, v string) error { return setDuration(&c.Window, v) }},
		{"RELATOR_MAX_RETRIES", "max-retries", "5", "retries of one model request after 429, 5xx or a network error",
			func(c *Config, v string) error { return setInt(&c.MaxRetries, v, 0) }},
		{"RELATOR_PROMPT_BUDGET", "prompt-budget", "6000", "most tokens of one chat call's prompt; longer prompts are shortened, then lose their lowest-ranked candidates",
			func(c *Config, v string) error { return setInt(&c.PromptBudget, v, MinPromptBudget) }},
		{"RELATOR_REQUEST_TIMEOUT", "request-timeout", "2m", "how long one attempt of one model request may take, reading the answer included",
			func(c *Config, v string) error { return setPositiveDuration(&c.RequestTimeout, v, time.Second) }},
		{"RELATOR_CHAT_RPM", "chat-rpm", "auto", "chat requests per minute (0: no limit; auto: 500 on OpenAI's API, else none)",
			func(c *Config, v string) error { return setLimit(&c.ChatRPM, v) }},
		{"RELATOR_CHAT_TPM", "chat-tpm", "auto", "chat tokens per minute, prompt plus output cap (0: no limit; auto: 200000 on OpenAI's API, else none)",
			func(c *Config, v string) error { return setLimit(&c.ChatTPM, v) }},
		{"RELATOR_EMBED_RPM", "embed-rpm", "auto", "embeddings requests per minute (0: no limit; auto: 3000 on OpenAI's API, else none)",
			func(c *Config, v string) error { return setLimit(&c.EmbedRPM, v) }},
		{"RELATOR_EMBED_TPM", "embed-tpm", "auto", "embeddings tokens per minute (0: no limit; auto: 1000000 on OpenAI's API, else none)",
			func(c *Config, v string) error { return setLimit(&c.EmbedTPM, v) }},
		{"RELATOR_LEASE", "lease", "60s", "how long a claim on an event lasts unrenewed (a crashed run's events wait this long)",
			func(c *Config, v string) error { return setPositiveDuration(&c.Lease, v, time.Second) }},
		{"RELATOR_MAX_ATTEMPTS", "max-attempts", "3", "failed analyses of an event before it is dead-lettered",
			func(c *Config, v string) error { return setInt(&c.MaxAttempts, v, 1) }},
		{"RELATOR_GRACE_PERIOD", "grace-period", "30s", "after SIGINT/SIGTERM, how long in-flight model calls may finish",
			func(c *Config, v string) error { return setDuration(&c.GracePeriod, v) }},
		{"RELATOR_SCHEDULE", "spec", "0 2 * * *", "cron spec of relator schedule (CRON_TZ=/TZ= prefixes, @every 1h)",
			func(c *Config, v string) error { c.Schedule = v; return nil }},
		{"RELATOR_HTTP_ADDR", "http-addr", ":9090", "address of relator schedule's /healthz and /metrics (empty disables)",
			func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
		{"RELATOR_HNSW_M", "hnsw-m", "0", "links per vector of HNSW indexes built from now on (0: relator's default)",
			func(c *Config, v string) error { return setInt(&c.HNSWM, v, 0) }},
		{"RELATOR_HNSW_EF_CONSTRUCTION", "hnsw-ef-construction", "0", "build candidate list of HNSW indexes built from now on (0: relator's default)",
			func(c *Config, v string) error { return setInt(&c.HNSWEfConstruction, v, 0) }},
		{"RELATOR_HNSW_EF_SEARCH", "hnsw-ef-search", "0", "candidate list of an HNSW search (0: relator's default)",
			func(c *Config, v string) error { return setInt(&c.HNSWEfSearch, v, 0) }},
		{"RELATOR_BULK_INDEX_AT", "bulk-index-at", "10000", "events waiting for a vector from which the HNSW index is built after embedding them (0: never)",
			func(c *Config, v string) error { return setInt(&c.BulkIndexAt, v, 0) }},
		{"RELATOR_BATCH_MAX_REQUESTS", "batch-max-requests", "50000", "most requests of one Batch API batch (run --batch); more are split into several batches; OpenAI's limit",
			func(c *Config, v string) error { return setIntIn(&c.BatchMaxRequests, v, 1, 50000) }},
		{"RELATOR_BATCH_MAX_BYTES", "batch-max-bytes", "200000000", "most bytes of one Batch API input file; larger submissions are split; OpenAI's limit is 200 MB",
			func(c *Config, v string) error { return setIntIn(&c.BatchMaxBytes, v, 1000, 200000000) }},
		{"RELATOR_PROGRESS_INTERVAL", "progress-interval", "10s", "period of backfill progress lines when output is not a terminal",
			func(c *Config, v string) error { return setPositiveDuration(&c.ProgressEvery, v, time.Second) }},
		{"RELATOR_REASK_REJECTED", "reask-rejected", "false", "write pairs a reviewer rejected again as pending under a new prompt version or model",
			func(c *Config, v string) error { return setBool(&c.ReaskRejected, v) }},
		{"RELATOR_PRICES", "prices", "", "file of per-model prices in USD per 1M tokens: JSON {\"MODEL\": {\"input\": 0.15, \"output\": 0.6}} (.json) or CSV model,input,output; over the dated defaults",
			func(c *Config, v string) error { c.PricesFile = v; return nil }},
		{"RELATOR_PRICE_IN", "price-in", "", "USD per 1M input tokens of the chat model (empty: the price table's)",
			func(c *Config, v string) error { return setPrice(&c.PriceIn, v) }},
		{"RELATOR_PRICE_OUT", "price-out", "", "USD per 1M output tokens of the chat model (empty: the price table's)",
			func(c *Config, v string) error { return setPrice(&c.PriceOut, v) }},
		{"RELATOR_MAX_TOKENS", "max-tokens", "0", "chat tokens (in + out) one pass may use; the pass stops cleanly before a call that would cross it (0: no limit)",
			func(c *Config, v string) error { return setInt(&c.MaxTokens, v, 0) }},
		{"RELATOR_MAX_COST", "max-cost", "0", "US dollars one pass may spend (embeddings and chat); the pass stops cleanly before a chat call that would cross it (0: no limit)",
			func(c *Config, v string) error { return setMoney(&c.MaxCost, v) }},
		{"RELATOR_EARLIEST_DATE", "earliest-date", "1800-01-01", "earliest occurred_at an import accepts (YYYY-MM-DD)",
			func(c *Config, v string) error { return setDate(&c.EarliestDate, v) }},
		{"RELATOR_LATEST_DATE", "latest-date", "2199-12-31", "latest occurred_at an import accepts, that day included (YYYY-MM-DD)",
			func(c *Config, v string) error { return setDate(&c.LatestDate, v) }},
		{"RELATOR_LOG_LEVEL", "log-level", "info", "debug, info, warn or error",
			func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"RELATOR_LOG_FORMAT", "log-format", "text", "text or json",
			func(c *Config, v string) error {
				if v != "text" && v != "json" {
					return errors.New("want text or json")
				}
				c.LogFormat = v
				return nil
			}},
	}
}

// Flags registers every setting on fs with its documented default, applies
// the environment (read through lookupEnv, as os.LookupEnv) over those
// defaults, and returns a function that yields the validated Config once fs
// has been parsed, so flags given on the command line override the
// environment. A variable set to "" counts as unset, except where the empty
// value means something (RELATOR_HTTP_ADDR).
func Flags(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) func() (Config, error) {
	all := settings()
	values := make([]*string, len(all))
	for i, s := range all {
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		if boolSetting(s.env) {
			v := s.def
			values[i] = &v
			fs.Var(boolFlag{&v}, s.flag, usage)
		} else {
			values[i] = fs.String(s.flag, s.def, usage)
		}
		if v, ok := lookupEnv(s.env); ok && (v != "" || emptySets(s.env)) {
			*values[i] = v // not fs.Set: -help keeps showing the documented default, never a key
		}
	}
	return func() (Config, error) {
		var c Config
		var errs []error
		for i, s := range all {
			if err := s.set(&c, strings.TrimSpace(*values[i])); err != nil {
				errs = append(errs, fmt.Errorf("%s (-%s): %w", s.env, s.flag, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return Config{}, err
		}
		if err := c.loadPrices(); err != nil {
			return Config{}, err
		}
		return c, c.Validate()
	}
}

// Validate checks the settings that depend on each other.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL: empty"))
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, errors.New("DATABASE_URL: want postgres://…"))
	}
	if c.OpenAIBaseURL != "" {
		if u, err := url.Parse(c.OpenAIBaseURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("OPENAI_BASE_URL: %q is not an absolute URL", c.OpenAIBaseURL))
		}
	}
	if c.APIType == AzureAPI {
		switch {
		case c.OpenAIBaseURL == "":
			errs = append(errs, errors.New("RELATOR_OPENAI_API_TYPE=azure needs OPENAI_BASE_URL, the resource's endpoint https://RESOURCE.openai.azure.com"))
		case strings.Contains(strings.TrimRight(c.OpenAIBaseURL, "/"), "/openai/v1"):
			errs = append(errs, errors.New("OPENAI_BASE_URL is Azure's v1 endpoint (…/openai/v1/), which is OpenAI-compatible: use it with RELATOR_OPENAI_API_TYPE=openai"))
		case strings.Contains(c.OpenAIBaseURL, "/openai/deployments"):
			errs = append(errs, errors.New("OPENAI_BASE_URL: give the resource's endpoint https://RESOURCE.openai.azure.com; deployments come from RELATOR_AZURE_DEPLOYMENTS"))
		}
		if c.OpenAIAPIKey == "" {
			errs = append(errs, errors.New("RELATOR_OPENAI_API_TYPE=azure needs OPENAI_API_KEY, the resource's key"))
		}
		if c.AzureAPIVersion == "" {
			errs = append(errs, errors.New("RELATOR_AZURE_API_VERSION: empty"))
		}
	}
	if c.LatestDate.Before(c.EarliestDate) {
		errs = append(errs, errors.New("RELATOR_LATEST_DATE is before RELATOR_EARLIEST_DATE"))
	}
	if c.EmbeddingProvider() == OpenAI && c.OpenAIAPIKey == "" && c.OpenAIBaseURL == "" {
		errs = append(errs, errors.New("RELATOR_EMBEDDER=openai needs OPENAI_API_KEY or OPENAI_BASE_URL"))
	}
	if c.ClassifierProvider() == OpenAI && c.OpenAIAPIKey == "" && c.OpenAIBaseURL == "" {
		errs = append(errs, errors.New("RELATOR_CLASSIFIER=openai needs OPENAI_API_KEY or OPENAI_BASE_URL"))
	}
	if c.EmbeddingProvider() == OpenAI && c.EmbeddingModel == "" {
		errs = append(errs, errors.New("RELATOR_EMBEDDING_MODEL: empty"))
	}
	if c.ClassifierProvider() == OpenAI && c.ChatModel == "" {
		errs = append(errs, errors.New("RELATOR_CHAT_MODEL: empty"))
	}
	return errors.Join(errs...)
}

// MaxTopK bounds RELATOR_TOP_K. The search asks the HNSW index for a pool
// of max(4K, 60) nearest priors with hnsw.ef_search = max(2·pool, 100),
// that is 8K, and pgvector refuses an ef_search above 1000: at K = 126
// every search, and so every analysis, would fail.
const MaxTopK = 125

// MinPromptBudget bounds RELATOR_PROMPT_BUDGET from below: the
// instructions alone take about 1,000 tokens, the response schema 150,
// and the New Event and one candidate need a few hundred more.
const MinPromptBudget = 2000

// autoLimit is the value of a rate limit set to auto.
const autoLimit = -1

// Limits are client-side rate limits of one endpoint; 0 is no limit.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
}

// Auto rate limits on OpenAI's own API: usage tier 1's limits of the
// default models (gpt-4o-mini, text-embedding-3-small), the lowest a paid
// account has, so that a new account's passes are not met by 429s. Other
// servers get none: a local server has no limits, and Azure's are set per
// deployment.
var (
	AutoChatLimits  = Limits{RequestsPerMinute: 500, TokensPerMinute: 200_000}
	AutoEmbedLimits = Limits{RequestsPerMinute: 3_000, TokensPerMinute: 1_000_000}
)

// OpenAIPlatform is whether the model server is OpenAI's: no base URL, or
// one on api.openai.com.
func (c Config) OpenAIPlatform() bool {
	if c.APIType == AzureAPI {
		return false
	}
	if c.OpenAIBaseURL == "" {
		return true
	}
	u, err := url.Parse(c.OpenAIBaseURL)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// RateLimits resolves the rate limit settings, auto included.
func (c Config) RateLimits() (chat, embed Limits) {
	resolve := func(v, auto int) int {
		if v == autoLimit {
			if c.OpenAIPlatform() {
				return auto
			}
			return 0
		}
		return v
	}
	chat = Limits{resolve(c.ChatRPM, AutoChatLimits.RequestsPerMinute), resolve(c.ChatTPM, AutoChatLimits.TokensPerMinute)}
	embed = Limits{resolve(c.EmbedRPM, AutoEmbedLimits.RequestsPerMinute), resolve(c.EmbedTPM, AutoEmbedLimits.TokensPerMinute)}
	return chat, embed
}

// EmbeddingProvider resolves Auto: openai when an API key is set.
func (c Config) EmbeddingProvider() Provider { return c.resolve(c.Embedder) }

// ClassifierProvider resolves Auto: openai when an API key is set.
func (c Config) ClassifierProvider() Provider { return c.resolve(c.Classifier) }

func (c Config) resolve(p Provider) Provider {
	if p != Auto {
		return p
	}
	if c.OpenAIAPIKey != "" {
		return OpenAI
	}
	return Offline
}

func setProvider(p *Provider, v string) error {
	switch Provider(v) {
	case Auto, OpenAI, Offline:
		*p = Provider(v)
		return nil
	}
	return errors.New("want auto, openai or offline")
}

// loadPrices fills Prices: the defaults, RELATOR_PRICES over them, then
// RELATOR_PRICE_IN/_OUT for the chat model.
func (c *Config) loadPrices() error {
	c.Prices = price.Defaults()
	if c.PricesFile != "" {
		t, err := c.Prices.LoadFile(c.PricesFile)
		if err != nil {
			return fmt.Errorf("RELATOR_PRICES (-prices): %w", err)
		}
		c.Prices = t
	}
	if c.PriceIn >= 0 || c.PriceOut >= 0 {
		p, _ := c.Prices.Lookup(c.ChatModel)
		if c.PriceIn >= 0 {
			p.Input = c.PriceIn
		}
		if c.PriceOut >= 0 {
			p.Output = c.PriceOut
		}
		c.Prices = c.Prices.With(c.ChatModel, p)
	}
	return nil
}

// setPrice reads a price in USD per 1M tokens; empty is unset (-1).
func setPrice(p *float64, v string) error {
	if v == "" {
		*p = -1
		return nil
	}
	return setMoney(p, v)
}

// setMoney reads a non-negative amount of US dollars.
func setMoney(p *float64, v string) error {
	f, err := strconv.ParseFloat(strings.TrimPrefix(v, "$"), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return errors.New("want a non-negative number of US dollars, e.g. 0.50")
	}
	*p = f
	return nil
}

func setBool(p *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*p = b
	return nil
}

// setDeployments reads "model=deployment,model=deployment".
func setDeployments(p *map[string]string, v string) error {
	m := map[string]string{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, deployment, ok := strings.Cut(item, "=")
		model, deployment = strings.TrimSpace(model), strings.TrimSpace(deployment)
		if !ok || model == "" || deployment == "" {
			return fmt.Errorf("%q: want model=deployment", item)
		}
		if _, dup := m[model]; dup {
			return fmt.Errorf("model %s listed twice", model)
		}
		m[model] = deployment
	}
	*p = m
	return nil
}

// setLimit reads a rate limit: "auto" or a number, 0 for none.
func setLimit(p *int, v string) error {
	if v == "auto" {
		*p = autoLimit
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("want auto, 0 (no limit) or a positive number per minute")
	}
	*p = n
	return nil
}

func setIntIn(p *int, v string, min, max int) error {
	if err := setInt(p, v, min); err != nil {
		return err
	}
	if *p > max {
		return fmt.Errorf("must be at most %d", max)
	}
	return nil
}

func setInt(p *int, v string, min int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < min {
		return fmt.Errorf("must be at least %d", min)
	}
	*p = n
	return nil
}

func setPositiveDuration(p *time.Duration, v string, min time.Duration) error {
	if err := setDuration(p, v); err != nil {
		return err
	}
	if *p < min {
		return fmt.Errorf("must be at least %s", min)
	}
	return nil
}

func setDate(p *time.Time, v string) error {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return errors.New("want a YYYY-MM-DD date")
	}
	*p = t
	return nil
}

func setDuration(p *time.Duration, v string) error {
	if v == "0" {
		*p = 0
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("not a duration such as 720h")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*p = d
	return nil
}
