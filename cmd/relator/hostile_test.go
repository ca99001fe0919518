package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relator/relator/internal/pgtest"
)

// cliEnv runs one relator command line in-process with the environment
// environ and returns its exit code, stdout and stderr.
func cliEnv(environ map[string]string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }})
	return code, stdout.String(), stderr.String()
}

// TestFeaturelessEventsAreSkippedWithoutAModelCall: an event whose text has
// no word features gets no model call, is no one's candidate, does not hold
// back the events after it, and is counted in the summary.
func TestFeaturelessEventsAreSkippedWithoutAModelCall(t *testing.T) {
	srv, _, chatCalls := fakeOpenAI(t)
	url := pgtest.NewDatabase(t)
	environ := map[string]string{
		"DATABASE_URL": url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.URL + "/v1",
		// Featureless text is the offline embedder's notion (feature
		// hashing finds nothing to hash); a server answering an all-zero
		// vector is a fault (TestFaultEmbeddingAllZeros).
		"RELATOR_EMBEDDER": "offline", "RELATOR_CHAT_MODEL": "test-chat",
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	os.WriteFile(file, []byte(`{"id":"a","occurred_at":"2026-04-01","title":"Ceasefire talks in Doha","summary":"Delegations meet in Doha."}
{"id":"b","occurred_at":"2026-04-02","title":"??? !!!","summary":"…"}
{"id":"c","occurred_at":"2026-04-03","title":"Ceasefire talks in Doha resume","summary":"Delegations meet again in Doha."}
{"id":"d","occurred_at":"2026-04-04","title":"Ceasefire agreed in Doha","summary":"The Doha talks end in a ceasefire."}
`), 0o644)
	if code, out, errOut := cliEnv(environ, "import", file); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := cliEnv(environ, "run")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	// c and d have priors with features; a has none, b is featureless.
	if chatCalls.Load() != 2 {
		t.Errorf("%d chat calls, want 2 (c and d)\n%s", chatCalls.Load(), out)
	}
	for _, want := range []string{"embedded 4 events with offline-", "(1 featureless events skipped: no vector, no model call)",
		"analysed 4 with test-chat", "0 invalid items dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relations r JOIN events e ON e.id IN (r.new_event_id, r.prior_event_id) WHERE e.source_id = 'b'`); n != 0 {
		t.Errorf("%d relations involve the featureless event", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses a JOIN events e ON e.id = a.event_id, unnest(a.candidates) c
		 WHERE c = (SELECT id FROM events WHERE source_id = 'b')`); n != 0 {
		t.Errorf("the featureless event was a candidate %d times", n)
	}
	code, out, _ = cliEnv(environ, "run")
	if code != 0 || !strings.Contains(out, "embedded 0 events") || !strings.Contains(out, "0 model calls") || chatCalls.Load() != 2 {
		t.Errorf("second run: exit %d, %d chat calls in all\n%s", code, chatCalls.Load(), out)
	}
}

// TestEvalNeverTouchesTheOperatorsDatabase: with DATABASE_URL naming the
// operator's database in a dbname= parameter (which overrides the URL's
// path), eval's events with the operator's ids must not overwrite theirs.
func TestEvalNeverTouchesTheOperatorsDatabase(t *testing.T) {
	operator := pgtest.NewDatabase(t)
	mustCLI(t, operator, "import", writeFile(t, `{"id":"a","occurred_at":"2026-04-01","title":"The operator's own event"}`+"\n"))
	u, err := url.Parse(operator)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("dbname", strings.TrimPrefix(u.Path, "/"))
	u.RawQuery, u.Path = q.Encode(), "/"
	evalFile := writeFile(t, `{"id":"a","occurred_at":"2026-04-01","title":"Eval's event a","story":"s"}
{"id":"b","occurred_at":"2026-04-02","title":"Eval's event b","story":"s"}
`)
	if code, out, errOut := cliEnv(map[string]string{"DATABASE_URL": u.String()}, "eval", "--events", evalFile, "--k", "5"); code != 0 {
		t.Fatalf("eval: exit %d\n%s%s", code, out, errOut)
	}
	if n := queryInt(t, operator, `SELECT count(*) FROM events`); n != 1 {
		t.Errorf("the operator's database holds %d events after eval, want its 1", n)
	}
	if n := queryInt(t, operator, `SELECT count(*) FROM events WHERE title = 'The operator''s own event'`); n != 1 {
		t.Error("eval overwrote the operator's event a")
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
