package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/internal/pgtest"
)

// threeEvents is a small history: the second and third events each have
// candidates, so a pass makes two model calls.
const threeEvents = `{"id": "e1", "occurred_at": "2015-09-01", "summary": "Hungary begins building a fence on its border with Serbia.", "actors": ["Hungary", "Serbia"]}
{"id": "e2", "occurred_at": "2015-09-05", "summary": "Hungary closes its border with Serbia to migrants.", "actors": ["Hungary", "Serbia"]}
{"id": "e3", "occurred_at": "2015-09-09", "summary": "Serbia protests the closing of the Hungarian border.", "actors": ["Serbia", "Hungary"]}
`

func writeEvents(t *testing.T, jsonl string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(jsonl), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKilledBetweenAnswerAndWriteDoesNotPayAgain: a run whose model calls
// were answered and logged, killed while its relations wait to be written
// (the test holds a lock that blocks every write of relations), leaves no
// relation; the next run, once the killed run's leases are over, reuses the
// logged answers — the model server receives no second call for any event —
// and writes exactly what an uninterrupted run writes.
func TestKilledBetweenAnswerAndWriteDoesNotPayAgain(t *testing.T) {
	ctx := context.Background()
	m := newSlowModel(t, 0)
	file := writeEvents(t, threeEvents)
	env := func(url string) []string { return m.environ(url, "RELATOR_LEASE=1s") }

	refURL := pgtest.NewDatabase(t)
	mustCLI(t, refURL, "import", file)
	if code := start(t, env(refURL), "run").wait(t); code != 0 {
		t.Fatalf("reference run exited %d", code)
	}
	want := pairs(t, refURL)
	if len(want) != 2 || m.calls.Load() != 2 {
		t.Fatalf("the reference run wrote %v with %d model calls; want 2 relations from 2 calls", want, m.calls.Load())
	}

	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", file)
	lock, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// SHARE conflicts with the ROW EXCLUSIVE lock every write of relations
	// takes, and with nothing the run does before it.
	if _, err := tx.Exec(ctx, `LOCK TABLE relations IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	before := m.calls.Load()
	first := start(t, env(url), "run")
	waitFor(t, "both answers logged", func() bool {
		return queryInt(t, url, `SELECT count(*) FROM model_calls WHERE error IS NULL`) == 2
	})
	waitFor(t, "the run's write to wait for the lock", func() bool {
		return queryInt(t, url, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
	})
	if n := m.calls.Load() - before; n != 2 {
		t.Fatalf("the first run made %d model calls; want 2", n)
	}
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(t)
	// The killed process's connection dies with it; PostgreSQL notices only
	// when it next talks to the client, so end its backend as it would.
	if _, err := tx.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != 0 {
		t.Fatalf("the killed run left %d relations; its write never committed", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done' AND relations > 0`); n != 0 {
		t.Fatalf("the killed run left %d analyses done", n)
	}

	before = m.calls.Load()
	second := start(t, env(url), "run")
	if code := second.wait(t); code != 0 {
		t.Fatalf("second run exited %d\n%s%s", code, second.stdout.String(), second.stderr.String())
	}
	if n := m.calls.Load() - before; n != 0 {
		t.Fatalf("the second run made %d model calls; the answers were paid for already\n%s", n, second.stdout.String())
	}
	if !strings.Contains(second.stdout.String(), "0 model calls") || !strings.Contains(second.stdout.String(), "2 answers reused") {
		t.Errorf("the summary does not say the answers were reused:\n%s", second.stdout.String())
	}
	if got := pairs(t, url); !slices.Equal(got, want) {
		t.Fatalf("killed + resumed runs wrote %v; one run writes %v", got, want)
	}
	if n := queryInt(t, url, `SELECT coalesce(sum(reused_calls), 0) FROM event_analyses WHERE status = 'done'`); n != 2 {
		t.Errorf("the analyses record %d reused calls; want 2", n)
	}
	if n := queryInt(t, url, `SELECT reused_calls FROM runs ORDER BY id DESC LIMIT 1`); n != 2 {
		t.Errorf("the second run is recorded with %d reused calls; want 2", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM model_calls`); n != 2 {
		t.Errorf("%d model calls logged; want the 2 made", n)
	}

	// What the model said, as a reviewer reads it.
	out := mustCLI(t, url, "show", "e2", "--raw")
	for _, w := range []string{"Model Answers (test-chat, prompt ", "0 calls made, 1 answers reused",
		"first call · ", "finish stop · 500 tokens in / 30 out", `{"relations":[{"event":1,"type":"continuation"`} {
		if !strings.Contains(out, w) {
			t.Errorf("show --raw lacks %q:\n%s", w, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !strings.HasPrefix(lines[len(lines)-1], "show: e2: ") {
		t.Errorf("show --raw does not end with its summary line:\n%s", out)
	}
	rel := queryInt(t, url, `SELECT min(id) FROM relations`)
	out = mustCLI(t, url, "review", "show", strconv.Itoa(rel))
	if !strings.Contains(out, "Model answer\nfirst call · ") || !strings.Contains(out, `"rationale":"Event 1 reports the step before.`) {
		t.Errorf("review show lacks the raw answer:\n%s", out)
	}
}

// TestShowRawOfTheOfflineClassifier: the offline classifier makes no model
// call, and show --raw says so; an event never analysed says that.
func TestShowRawOfTheOfflineClassifier(t *testing.T) {
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", writeEvents(t, threeEvents))
	if out := mustCLI(t, url, "show", "e2", "--raw"); !strings.Contains(out, "Model Answers\nnot analysed yet\n") {
		t.Errorf("show --raw before any run:\n%s", out)
	}
	mustCLI(t, url, "run")
	out := mustCLI(t, url, "show", "e2", "--raw")
	if !strings.Contains(out, "Model Answers (offline-rules-v1, prompt ") || !strings.Contains(out, "offline classifier: no model call") {
		t.Errorf("show --raw of an offline analysis:\n%s", out)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM model_calls`); n != 0 {
		t.Errorf("the offline classifier logged %d model calls", n)
	}
}
