package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	get := Flags(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return get()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.TopK != 15 || c.Window != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.EmbeddingProvider() != Offline || c.ClassifierProvider() != Offline {
		t.Fatalf("no key must mean offline, got %s/%s", c.EmbeddingProvider(), c.ClassifierProvider())
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	env := map[string]string{"RELATOR_TOP_K": "20", "RELATOR_WINDOW": "720h", "OPENAI_API_KEY": "sk-x"}
	c, err := load(t, env, "-top-k", "7")
	if err != nil {
		t.Fatal(err)
	}
	if c.TopK != 7 || c.Window != 720*time.Hour {
		t.Fatalf("got top-k %d window %v", c.TopK, c.Window)
	}
	if c.EmbeddingProvider() != OpenAI || c.ClassifierProvider() != OpenAI {
		t.Fatal("a key must select openai under auto")
	}
}

func TestHelpNeverShowsTheKey(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	Flags(fs, func(k string) (string, bool) {
		v, ok := map[string]string{"OPENAI_API_KEY": "sk-secret"}[k]
		return v, ok
	})
	fs.PrintDefaults()
	if strings.Contains(out.String(), "sk-secret") {
		t.Fatal("help output shows the API key")
	}
}

func TestInvalidSettingsNameTheVariable(t *testing.T) {
	for env, want := range map[string]string{
		"RELATOR_TOP_K":      "RELATOR_TOP_K",
		"RELATOR_WINDOW":     "RELATOR_WINDOW",
		"RELATOR_EMBEDDER":   "RELATOR_EMBEDDER",
		"DATABASE_URL":       "DATABASE_URL",
		"RELATOR_LOG_FORMAT": "RELATOR_LOG_FORMAT",
	} {
		_, err := load(t, map[string]string{env: "bogus"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=bogus: err %v; want it to name %s", env, err, want)
		}
	}
	if _, err := load(t, nil, "-classifier", "openai"); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("openai classifier without key: %v", err)
	}
}

func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		row := "| `" + s.env + "` | `-" + s.flag + "` | "
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row starting %q", row)
		}
	}
}

// TestBooleanSettingTakesNoValue: -reask-rejected alone sets it, as the flag
// package's booleans, and so does the environment.
func TestBooleanSettingTakesNoValue(t *testing.T) {
	if c, err := load(t, nil); err != nil || c.ReaskRejected {
		t.Fatalf("default: %v, %v; want off", c.ReaskRejected, err)
	}
	if c, err := load(t, nil, "-reask-rejected"); err != nil || !c.ReaskRejected {
		t.Fatalf("-reask-rejected: %v, %v", c.ReaskRejected, err)
	}
	if c, err := load(t, map[string]string{"RELATOR_REASK_REJECTED": "true"}, "-reask-rejected=false"); err != nil || c.ReaskRejected {
		t.Fatalf("the flag over the environment: %v, %v", c.ReaskRejected, err)
	}
	if c, err := load(t, map[string]string{"RELATOR_REASK_REJECTED": "1"}); err != nil || !c.ReaskRejected {
		t.Fatalf("RELATOR_REASK_REJECTED=1: %v, %v", c.ReaskRejected, err)
	}
	if _, err := load(t, map[string]string{"RELATOR_REASK_REJECTED": "maybe"}); err == nil || !strings.Contains(err.Error(), "RELATOR_REASK_REJECTED") {
		t.Fatalf("RELATOR_REASK_REJECTED=maybe: %v", err)
	}
}

func TestRateLimits(t *testing.T) {
	for _, tc := range []struct {
		env         map[string]string
		chat, embed Limits
	}{
		{map[string]string{"OPENAI_API_KEY": "sk-x"}, AutoChatLimits, AutoEmbedLimits},
		{map[string]string{"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "https://api.openai.com/v1"}, AutoChatLimits, AutoEmbedLimits},
		{map[string]string{"OPENAI_BASE_URL": "http://localhost:11434/v1"}, Limits{}, Limits{}},
		{map[string]string{"OPENAI_BASE_URL": "http://localhost:11434/v1", "RELATOR_CHAT_RPM": "30"}, Limits{RequestsPerMinute: 30}, Limits{}},
		{map[string]string{"OPENAI_API_KEY": "sk-x", "RELATOR_CHAT_TPM": "0", "RELATOR_EMBED_RPM": "10000", "RELATOR_EMBED_TPM": "5000000"},
			Limits{RequestsPerMinute: 500}, Limits{RequestsPerMinute: 10_000, TokensPerMinute: 5_000_000}},
	} {
		c, err := load(t, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if chat, embed := c.RateLimits(); chat != tc.chat || embed != tc.embed {
			t.Errorf("%v: limits %+v, %+v; want %+v, %+v", tc.env, chat, embed, tc.chat, tc.embed)
		}
	}
	for _, v := range []string{"-1", "fast", "1.5"} {
		if _, err := load(t, map[string]string{"RELATOR_CHAT_RPM": v}); err == nil || !strings.Contains(err.Error(), "RELATOR_CHAT_RPM") {
			t.Errorf("RELATOR_CHAT_RPM=%s: err %v", v, err)
		}
	}
	if c, _ := load(t, nil); c.RequestTimeout != 2*time.Minute {
		t.Errorf("default request timeout %v", c.RequestTimeout)
	}
	if _, err := load(t, map[string]string{"RELATOR_REQUEST_TIMEOUT": "10ms"}); err == nil {
		t.Error("a request timeout under a second must be refused")
	}
}

func TestTopKAndPromptBudgetBounds(t *testing.T) {
	for env, ok := range map[string]bool{"1": true, "125": true, "126": false, "0": false} {
		_, err := load(t, map[string]string{"RELATOR_TOP_K": env})
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "RELATOR_TOP_K")) {
			t.Errorf("RELATOR_TOP_K=%s: err %v", env, err)
		}
	}
	c, err := load(t, nil)
	if err != nil || c.PromptBudget != 6000 {
		t.Fatalf("default prompt budget %d, %v", c.PromptBudget, err)
	}
	if _, err := load(t, map[string]string{"RELATOR_PROMPT_BUDGET": "1999"}); err == nil || !strings.Contains(err.Error(), "RELATOR_PROMPT_BUDGET") {
		t.Errorf("a prompt budget under 2000: err %v", err)
	}
}

func TestAzure(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "https://res.openai.azure.com", "RELATOR_OPENAI_API_TYPE": "azure",
		"RELATOR_AZURE_DEPLOYMENTS": " gpt-4o-mini = chat ,text-embedding-3-small=emb,"}
	c, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIType != AzureAPI || c.AzureAPIVersion != "2024-10-21" || len(c.AzureDeployments) != 2 ||
		c.AzureDeployments["gpt-4o-mini"] != "chat" || c.AzureDeployments["text-embedding-3-small"] != "emb" {
		t.Fatalf("azure settings: %+v", c)
	}
	if chat, embed := c.RateLimits(); chat != (Limits{}) || embed != (Limits{}) {
		t.Fatalf("auto limits on Azure: %+v %+v; want none (Azure's are per deployment)", chat, embed)
	}
	for _, tc := range []struct {
		change map[string]string
		want   string
	}{
		{map[string]string{"OPENAI_BASE_URL": ""}, "needs OPENAI_BASE_URL"},
		{map[string]string{"OPENAI_API_KEY": ""}, "needs OPENAI_API_KEY"},
		{map[string]string{"OPENAI_BASE_URL": "https://res.openai.azure.com/openai/v1/"}, "RELATOR_OPENAI_API_TYPE=openai"},
		{map[string]string{"OPENAI_BASE_URL": "https://res.openai.azure.com/openai/deployments/chat"}, "resource's endpoint"},
		{map[string]string{"RELATOR_AZURE_DEPLOYMENTS": "gpt-4o-mini"}, "RELATOR_AZURE_DEPLOYMENTS"},
		{map[string]string{"RELATOR_AZURE_DEPLOYMENTS": "a=b,a=c"}, "listed twice"},
		{map[string]string{"RELATOR_OPENAI_API_TYPE": "anthropic"}, "RELATOR_OPENAI_API_TYPE"},
	} {
		e := map[string]string{"RELATOR_CLASSIFIER": "offline", "RELATOR_EMBEDDER": "offline"}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range tc.change {
			e[k] = v
		}
		if _, err := load(t, e); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v; want it to say %q", tc.change, err, tc.want)
		}
	}
	// Azure's v1 endpoint is a plain OpenAI-compatible base URL.
	if _, err := load(t, map[string]string{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "https://res.openai.azure.com/openai/v1/"}); err != nil {
		t.Fatal(err)
	}
}

// TestPricesAndBudget: RELATOR_PRICES over the defaults, RELATOR_PRICE_IN
// and _OUT over both for the chat model, the budget settings read, and a
// malformed price file or amount named.
func TestPricesAndBudget(t *testing.T) {
	file := t.TempDir() + "/prices.csv"
	if err := os.WriteFile(file, []byte("model,input,output\nlocal-llm,0.5,1.5\ngpt-4o-mini,0.2,0.8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, map[string]string{"RELATOR_PRICES": file, "RELATOR_CHAT_MODEL": "gpt-4o-mini", "RELATOR_PRICE_OUT": "0.9"},
		"-max-tokens", "5000", "-max-cost", "$1.25")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := c.Prices.Lookup("local-llm"); !ok || p.Input != 0.5 || p.Output != 1.5 {
		t.Fatalf("file price: %+v %v", p, ok)
	}
	if p, _ := c.Prices.Lookup("gpt-4o-mini"); p.Input != 0.2 || p.Output != 0.9 {
		t.Fatalf("chat model price: %+v", p)
	}
	if p, _ := c.Prices.Lookup("gpt-4o"); p.Input != 2.5 {
		t.Fatalf("defaults kept: %+v", p)
	}
	if c.MaxTokens != 5000 || c.MaxCost != 1.25 {
		t.Fatalf("budget: %d tokens, $%v", c.MaxTokens, c.MaxCost)
	}
	d, err := load(t, nil)
	if err != nil || d.MaxTokens != 0 || d.MaxCost != 0 {
		t.Fatalf("default budget: %v %v %v", d.MaxTokens, d.MaxCost, err)
	}
	if _, ok := d.Prices.Lookup("test-chat"); ok {
		t.Fatal("an unknown model got a price")
	}
	if err := os.WriteFile(file, []byte("m,cheap,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, map[string]string{"RELATOR_PRICES": file}); err == nil || !strings.Contains(err.Error(), "RELATOR_PRICES") ||
		!strings.Contains(err.Error(), "line 1, field input") {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := load(t, map[string]string{"RELATOR_MAX_COST": "-1"}); err == nil || !strings.Contains(err.Error(), "RELATOR_MAX_COST") {
		t.Fatalf("negative cost: %v", err)
	}
}

func TestDateRange(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.EarliestDate != time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC) || c.LatestDate != time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("default date range %v..%v, %v", c.EarliestDate, c.LatestDate, err)
	}
	c, err = load(t, map[string]string{"RELATOR_EARLIEST_DATE": "1500-01-01"}, "-latest-date", "2030-12-31")
	if err != nil || c.EarliestDate.Year() != 1500 || c.LatestDate.Year() != 2030 {
		t.Fatalf("date range %v..%v, %v", c.EarliestDate, c.LatestDate, err)
	}
	for _, env := range []map[string]string{{"RELATOR_LATEST_DATE": "soon"}, {"RELATOR_EARLIEST_DATE": "2020-01-02", "RELATOR_LATEST_DATE": "2020-01-01"}} {
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "DATE") {
			t.Errorf("%v: err %v", env, err)
		}
	}
}
