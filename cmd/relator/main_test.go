package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relator/relator/internal/pgtest"
)

const devSet = "../../testdata/wikitimes-2015-09/events.jsonl"

// cli runs one relator command line against the database at url, with no
// API key, and returns its exit code, stdout and stderr.
func cli(t *testing.T, url string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	environ := map[string]string{"DATABASE_URL": url}
	code := run(context.Background(), args, env{
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok },
	})
	return code, stdout.String(), stderr.String()
}

func mustCLI(t *testing.T, url string, args ...string) string {
	t.Helper()
	code, out, errOut := cli(t, url, args...)
	if code != 0 {
		t.Fatalf("relator %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestImportRunAndRerunEmbedNothingNew(t *testing.T) {
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "migrate")
	out := mustCLI(t, url, "import", devSet)
	if !strings.Contains(out, "428 inserted, 0 updated, 0 unchanged") {
		t.Fatalf("first import: %s", out)
	}
	out = mustCLI(t, url, "run")
	if !strings.Contains(out, "embedded 428 events") || !strings.Contains(out, "analysed 428 with offline-rules-v1") ||
		strings.Contains(out, "wrote 0 relations") {
		t.Fatalf("first run: %s", out)
	}
	out = mustCLI(t, url, "import", devSet)
	if !strings.Contains(out, "0 inserted, 0 updated, 428 unchanged") {
		t.Fatalf("second import: %s", out)
	}
	out = mustCLI(t, url, "run")
	if !strings.Contains(out, "embedded 0 events") || !strings.Contains(out, "analysed 0") ||
		!strings.Contains(out, "wrote 0 relations, 0 model calls") {
		t.Fatalf("second run: %s", out)
	}

	// The busiest event's page lists relations from both directions, each
	// rationale naming the events it speaks of.
	out = mustCLI(t, url, "show", "--most-related")
	for _, want := range []string{"\nSummary\n", "\nSources (", "\nActor Responses\n", "\nRelated Events (",
		"earlier event → this event", "this event → later event", "[pending]", "[this event]", "offline-rules-v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	// The sample has no content: no empty "Full Content" heading, and the
	// page ends with its summary line.
	if strings.Contains(out, "Full Content") || !strings.Contains(out, " related events (") ||
		!strings.HasPrefix(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:], "show: ") {
		t.Errorf("show output:\n%s", out)
	}
	if code, _, stderr := cli(t, url, "show", "no-such-event"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("show of an unknown id: exit %d, %s", code, stderr)
	}
}

func TestImportMalformedFileExitsNonZeroAndWritesNothing(t *testing.T) {
	url := pgtest.NewDatabase(t)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	data, err := os.ReadFile(devSet)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[41] = `{"id": "wt-bad", "occurred_at": "2015-09-31", "summary": "No such day."}` + "\n"
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)

	code, _, stderr := cli(t, url, "import", bad)
	if code == 0 || !strings.Contains(stderr, `line 42: field "occurred_at"`) {
		t.Fatalf("exit %d, stderr %q; want a failure naming line 42 and occurred_at", code, stderr)
	}
	out := mustCLI(t, url, "import", devSet)
	if !strings.Contains(out, "428 inserted") {
		t.Fatalf("the failed import left rows behind: %s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	url := pgtest.NewDatabase(t)
	for _, args := range [][]string{{}, {"nope"}, {"import"}, {"eval"}, {"run", "extra"}, {"run", "-top-k", "0"},
		{"run", "-top-k", "126"}, {"eval", "--events", devSet, "--k", "126"}} {
		if code, _, _ := cli(t, url, args...); code != 2 {
			t.Errorf("relator %v: exit %d, want 2", args, code)
		}
	}
}

func TestEvalPrintsTheContractAsLastLine(t *testing.T) {
	url := pgtest.ServerURL(t)
	out := mustCLI(t, url, "eval", "--events", devSet, "--k", "15", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	for _, key := range []string{"events", "queries", "k", "recall_at_k", "hit_at_k", "link", "relations_written",
		"llm_calls", "tokens_in", "tokens_out", "embedder", "classifier"} {
		if _, ok := got[key]; !ok {
			t.Errorf("eval output lacks %q", key)
		}
	}
	if got["events"] != 428.0 || got["queries"] != 152.0 || got["k"] != 15.0 {
		t.Errorf("eval counted %v events, %v queries, k %v", got["events"], got["queries"], got["k"])
	}
	if r := got["recall_at_k"].(float64); r < 0.60 {
		t.Errorf("recall@15 = %.3f; the offline embedder must reach 0.60", r)
	}
	link, _ := got["link"].(map[string]any)
	if f1, _ := link["f1"].(float64); f1 < 0.60 {
		t.Errorf("link f1 = %v; the offline classifier must reach 0.60", link["f1"])
	}
	if got["llm_calls"] != 0.0 || got["relations_written"].(float64) == 0 || got["classifier"] != "offline-rules-v1" {
		t.Errorf("offline eval: %v calls, %v relations, classifier %v", got["llm_calls"], got["relations_written"], got["classifier"])
	}
}
