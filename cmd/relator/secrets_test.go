package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/pgtest"
)

const (
	dbPassword = "pw-S3cret-of-the-operator"
	apiKey     = "sk-SECRET-key-of-the-operator"
)

// withPassword is the database URL u with dbPassword in it (the test
// server trusts local connections, so any password connects).
func withPassword(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.UserPassword(p.User.Username(), dbPassword)
	return p.String()
}

// leakyModel is a model server that echoes the API key it was sent in
// every error (as a careless proxy might), failing while fail is set.
func leakyModel(t *testing.T, fail *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		var req openai.ChatCompletionRequest
		json.NewDecoder(r.Body).Decode(&req)
		if fail.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":"request with key %s refused: context length exceeded for key %s","type":"invalid_request_error","code":"context_length_exceeded"}}`, key, key)
			return
		}
		content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// everyRow is every row of every table of relator's schema, as text.
func everyRow(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables
		 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("tables %v, %v", tables, err)
	}
	var b strings.Builder
	for _, table := range tables {
		var text *string
		if err := conn.QueryRow(ctx, `SELECT string_agg(t::text, E'\n') FROM `+table+` t`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if text != nil {
			b.WriteString(*text)
		}
	}
	return b.String()
}

// TestNoSecretReachesLogsErrorsRunsOrMetrics runs relator as its operator
// does, with a database password and an API key, against a model server
// that fails echoing the key and then succeeds, a database that does not
// answer, a throwaway eval database kept for inspection, and a scheduler
// serving /metrics; neither secret may appear in any output, error, stored
// row or metric.
func TestNoSecretReachesLogsErrorsRunsOrMetrics(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	model := leakyModel(t, &fail)
	dbURL := withPassword(t, pgtest.NewDatabase(t))
	environ := map[string]string{
		"DATABASE_URL": dbURL, "OPENAI_API_KEY": apiKey, "OPENAI_BASE_URL": model.URL,
		"RELATOR_EMBEDDER": "offline", "RELATOR_CHAT_MODEL": "test-chat", "RELATOR_MAX_RETRIES": "0",
		"RELATOR_LOG_LEVEL": "debug",
	}
	var seen strings.Builder
	relator := func(args ...string) int {
		code, out, errOut := cliEnv(environ, args...)
		fmt.Fprintf(&seen, "$ relator %s\n%s%s", strings.Join(args, " "), out, errOut)
		return code
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	os.WriteFile(file, []byte(`{"id":"a","occurred_at":"2026-04-01","title":"Ceasefire talks in Doha","summary":"Delegations meet in Doha.","story":"s"}
{"id":"b","occurred_at":"2026-04-02","title":"Ceasefire talks in Doha resume","summary":"Delegations meet again in Doha.","story":"s"}
{"id":"c","occurred_at":"2026-04-03","title":"Ceasefire agreed in Doha","summary":"The Doha talks end in a ceasefire.","story":"s"}
`), 0o644)

	if code := relator("import", file); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, seen.String())
	}
	if code := relator("run"); code == 0 {
		t.Fatalf("run against the failing server exited 0\n%s", seen.String())
	}
	relator("status", "--json")
	relator("runs", "--json")
	fail.Store(false)
	if code := relator("requeue"); code != 0 {
		t.Fatalf("requeue: exit %d\n%s", code, seen.String())
	}
	if code := relator("run"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, seen.String())
	}
	relator("runs")

	// The eval database, kept: its URL is logged, without the password.
	relator("eval", "--events", file, "--k", "5", "--keep")
	if !strings.Contains(seen.String(), "keeping the eval database") {
		t.Fatalf("eval --keep logged no database\n%s", seen.String())
	}
	dropKept(t, dbURL, seen.String())

	// A database that does not answer, and a malformed URL.
	for _, bad := range []string{"postgres://relator:" + dbPassword + "@127.0.0.1:1/relator?sslmode=disable&connect_timeout=2",
		"postgres://relator:" + dbPassword + "@127.0.0.1:notaport/relator"} {
		env := map[string]string{"DATABASE_URL": bad, "OPENAI_API_KEY": apiKey}
		code, out, errOut := cliEnv(env, "status")
		fmt.Fprintf(&seen, "$ DATABASE_URL=… relator status\n%s%s", out, errOut)
		if code == 0 {
			t.Errorf("status against %s exited 0", bad)
		}
	}

	// relator schedule, as a process, with /metrics.
	fail.Store(true)
	addr := freeAddr(t)
	procEnv := []string{"PATH=" + os.Getenv("PATH"), "RELATOR_HTTP_ADDR=" + addr, "RELATOR_GRACE_PERIOD=5s"}
	for k, v := range environ {
		procEnv = append(procEnv, k+"="+v)
	}
	os.WriteFile(file, []byte(`{"id":"d","occurred_at":"2026-04-04","title":"Ceasefire holds in Doha","summary":"The Doha ceasefire holds."}`+"\n"), 0o644)
	relator("import", file)
	p := start(t, procEnv, "schedule", "--spec", "@every 1h", "--run-now")
	waitFor(t, "the scheduled pass", func() bool {
		return queryInt(t, dbURL, `SELECT count(*) FROM runs WHERE command = 'schedule' AND status <> 'running'`) >= 1
	})
	metrics := get(t, "http://"+addr+"/metrics")
	health := get(t, "http://"+addr+"/healthz")
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
	fmt.Fprintf(&seen, "$ relator schedule\n%s%s\n/metrics\n%s\n/healthz\n%s\n", p.stdout.String(), p.stderr.String(), metrics, health)
	if !strings.Contains(metrics, "relator_passes_total") {
		t.Fatalf("no metrics served:\n%s", metrics)
	}

	stored := everyRow(t, dbURL)
	if !strings.Contains(stored, "context length exceeded") {
		t.Fatalf("the model's errors were not recorded: the test would prove nothing\n%s", stored)
	}
	for what, text := range map[string]string{"output, logs and /metrics": seen.String(), "the database": stored} {
		for _, secret := range []string{dbPassword, apiKey} {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("%s shows %q:\n…%s…", what, secret, text[max(0, i-300):min(len(text), i+100)])
			}
		}
	}
}

// dropKept drops the eval database a `relator eval --keep` logged.
func dropKept(t *testing.T, server, log string) {
	t.Helper()
	i := strings.Index(log, "relator_eval_")
	if i < 0 {
		t.Fatalf("no eval database named in\n%s", log)
	}
	name := log[i : i+len("relator_eval_")+12]
	conn, err := pgx.Connect(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}
