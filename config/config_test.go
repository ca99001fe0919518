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
