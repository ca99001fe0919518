package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/internal/fakeopenai"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/synth"
)

// The TestFault… tests run `relator run` against a model server that
// misbehaves one way each, and check what was written (relations, the
// analyses' status, attempts and error) and what was recorded (the runs).
// Five synthetic events: the first has no prior and needs no call, the
// other four one chat call each, made one at a time (concurrency 1) so that
// a fault of the first N calls is the fault of the first N events.

// faultRig is a database of five imported events and a fake model server.
type faultRig struct {
	t   *testing.T
	srv *fakeopenai.Server
	url string
	env map[string]string
}

const faultEvents = 5

func newFaultRig(t *testing.T, opts fakeopenai.Options) *faultRig {
	t.Helper()
	srv := fakeopenai.New(opts)
	t.Cleanup(srv.Close)
	r := &faultRig{t: t, srv: srv, url: pgtest.NewDatabase(t)}
	r.env = map[string]string{
		"DATABASE_URL": r.url, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": srv.BaseURL(),
		"RELATOR_EMBEDDER": "openai", "RELATOR_EMBEDDING_MODEL": "test-embedder",
		"RELATOR_CLASSIFIER": "openai", "RELATOR_CHAT_MODEL": "test-chat",
		"RELATOR_CONCURRENCY": "1", "RELATOR_MAX_RETRIES": "2",
		"RELATOR_MAX_ATTEMPTS": "2", "RELATOR_HTTP_ADDR": "",
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	var b bytes.Buffer
	if err := synth.Write(&b, synth.Options{Events: faultEvents, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, r.url, "import", file)
	return r
}

// run runs relator in-process with the rig's environment.
func (r *faultRig) run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := r.env[k]; return v, ok }})
	return code, stdout.String(), stderr.String()
}

// faultState is what the database holds after a fault.
type faultState struct {
	Relations, Vectors                int
	Done, Failed, Dead, Pending, Held int
	Attempts, Invalid                 int // summed over the analyses
	Errors                            string
	// Of the last run: its status, model calls, failed, dead and invalid
	// counts, and error.
	RunStatus                    string
	RunCalls, RunFailed, RunDead int
	RunInvalid                   int
	RunError                     string
	Runs                         int
}

func (r *faultRig) state() faultState {
	r.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s faultState
	err = conn.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM relations), (SELECT count(*) FROM embeddings),
		       count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'failed'),
		       count(*) FILTER (WHERE status = 'dead'), count(*) FILTER (WHERE status = 'pending'),
		       count(*) FILTER (WHERE status = 'running'),
		       coalesce(sum(attempts), 0), coalesce(sum(invalid), 0),
		       coalesce(string_agg(DISTINCT last_error, ' | '), '')
		  FROM event_analyses`).Scan(&s.Relations, &s.Vectors, &s.Done, &s.Failed, &s.Dead, &s.Pending, &s.Held,
		&s.Attempts, &s.Invalid, &s.Errors)
	if err != nil {
		r.t.Fatal(err)
	}
	err = conn.QueryRow(ctx, `
		SELECT status, llm_calls, failed, dead, invalid, coalesce(error, ''), (SELECT count(*) FROM runs)
		  FROM runs ORDER BY id DESC LIMIT 1`).Scan(&s.RunStatus, &s.RunCalls, &s.RunFailed, &s.RunDead,
		&s.RunInvalid, &s.RunError, &s.Runs)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// expect runs relator run and checks its exit code, the server's chat
// calls since the rig started, and the state (with errors and run error
// checked for containing want's, when set).
func (r *faultRig) expect(code int, chats int64, want faultState) faultState {
	r.t.Helper()
	got, out, errOut := r.run("run")
	if got != code {
		r.t.Errorf("exit %d; want %d\n%s%s", got, code, out, errOut)
	}
	if n := r.srv.Chats.Load(); n != chats {
		r.t.Errorf("the server had %d chat calls; want %d", n, chats)
	}
	s := r.state()
	cmp := s
	if want.Errors != "" && strings.Contains(s.Errors, want.Errors) {
		cmp.Errors = want.Errors
	}
	if want.RunError != "" && strings.Contains(s.RunError, want.RunError) {
		cmp.RunError = want.RunError
	}
	if cmp != want {
		r.t.Errorf("after the run:\n got %+v\nwant %+v\n%s%s", s, want, out, errOut)
	}
	return s
}

// healed is the state of a database in which every analysis was done on
// the first pass: four relations, one per event with a prior.
func healed(calls int) faultState {
	return faultState{Relations: 4, Vectors: faultEvents, Done: faultEvents, Attempts: faultEvents, RunStatus: "done", RunCalls: calls, Runs: 1}
}

// A fault the client retries costs requests, not analyses.

func TestFaultRateLimitWithRetryAfter(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(2, fakeopenai.RateLimited)})
	r.expect(0, 6, healed(4))
}

func TestFaultRateLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(1, fakeopenai.RateLimitedBare)})
	r.expect(0, 5, healed(4))
}

func TestFaultServerErrorsRetried(t *testing.T) {
	t.Parallel()
	for _, f := range []fakeopenai.Fault{fakeopenai.Status500, fakeopenai.Status502, fakeopenai.Status503} {
		t.Run(string(f), func(t *testing.T) {
			r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(2, f)})
			r.expect(0, 6, healed(4))
		})
	}
}

func TestFaultHangPastTheTimeout(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(1, fakeopenai.Hang)})
	r.env["RELATOR_REQUEST_TIMEOUT"] = "2s"
	began := time.Now()
	r.expect(0, 5, healed(4))
	if d := time.Since(began); d < 2*time.Second {
		t.Errorf("the run took %s: the hang did not last until the timeout", d)
	}
}

// TestFaultConnectionResetMidBody: a 200 whose body is cut by a reset is
// retried like a connection that failed before its answer.
func TestFaultConnectionResetMidBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(1, fakeopenai.ResetMidBody)})
	r.expect(0, 5, healed(4))
}

// TestFaultServerErrorsPersisting: 503s past the retries fail each event
// (recorded, retried by the next pass), then dead-letter it after
// RELATOR_MAX_ATTEMPTS (2).
func TestFaultServerErrorsPersisting(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.Always(fakeopenai.Status503)})
	// 1 + 2 retries for each of 4 events.
	r.expect(3, 12, faultState{Vectors: faultEvents, Done: 1, Failed: 4, Attempts: 5, Errors: "status code: 503",
		RunStatus: "partial", RunCalls: 4, RunFailed: 4, RunError: "4 failed, 0 dead-lettered", Runs: 1})
	r.expect(3, 24, faultState{Vectors: faultEvents, Done: 1, Dead: 4, Attempts: 9, Errors: "status code: 503",
		RunStatus: "partial", RunCalls: 4, RunDead: 4, RunError: "0 failed, 4 dead-lettered", Runs: 2})
}

// TestFaultQuota: an exhausted quota stops the pass at its first answer;
// nothing is failed, nothing counted against the events.
func TestFaultQuota(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.Always(fakeopenai.Quota)})
	code, out, errOut := r.run("run")
	if code != 1 || !strings.Contains(errOut, "quota exhausted") || !strings.Contains(errOut, "pending, not failed") {
		t.Errorf("exit %d; want 1 and the quota named\n%s%s", code, out, errOut)
	}
	if n := r.srv.Chats.Load(); n != 1 {
		t.Errorf("%d chat calls; the pass must stop at the first", n)
	}
	// The first event needs no call: its analysis is done, or, when the
	// quota stopped the pass before the writer got to it, handed back like
	// the rest. Those claimed are pending again with no attempt counted,
	// the others not even claimed.
	s := r.state()
	if s.Relations != 0 || s.Done > 1 || s.Failed+s.Dead+s.Held != 0 || s.Attempts != s.Done ||
		s.RunStatus != "failed" || !strings.Contains(s.RunError, "insufficient_quota") || s.RunCalls != 1 {
		t.Errorf("after the quota: %+v", s)
	}
}

// Replies that cannot be read even after their repair are failed attempts:
// two calls each (the reply and its repair), nothing written, retried by
// the next pass, dead after the second.
func unusable(t *testing.T, f fakeopenai.Fault, problem string) {
	t.Helper()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.Always(f)})
	r.expect(3, 8, faultState{Vectors: faultEvents, Done: 1, Failed: 4, Attempts: 5, Errors: problem,
		RunStatus: "partial", RunCalls: 8, RunFailed: 4, RunError: "4 failed, 0 dead-lettered", Runs: 1})
	r.expect(3, 16, faultState{Vectors: faultEvents, Done: 1, Dead: 4, Attempts: 9, Errors: problem,
		RunStatus: "partial", RunCalls: 8, RunDead: 4, RunError: "0 failed, 4 dead-lettered", Runs: 2})
}

func TestFaultTruncatedJSON(t *testing.T) {
	t.Parallel()
	unusable(t, fakeopenai.TruncatedJSON, "model reply unusable after its repair: reply is not a JSON object")
}

func TestFaultSchemaBroken(t *testing.T) {
	t.Parallel()
	unusable(t, fakeopenai.SchemaBroken, `model reply unusable after its repair: reply has no "relations" array`)
}

func TestFaultNoChoices(t *testing.T) {
	t.Parallel()
	unusable(t, fakeopenai.NoChoices, "model reply unusable after its repair: reply has no choices")
}

func TestFaultRefusal(t *testing.T) {
	t.Parallel()
	unusable(t, fakeopenai.Refusal, "model reply unusable after its repair: reply is a refusal")
}

func TestFaultContentFilter(t *testing.T) {
	t.Parallel()
	unusable(t, fakeopenai.ContentFilter, "model reply unusable after its repair: reply was withheld by the content filter")
}

// TestFaultTruncatedJSONRepaired: a reply the repair call fixes is an
// analysis like any other.
func TestFaultTruncatedJSONRepaired(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.First(1, fakeopenai.TruncatedJSON)})
	r.expect(0, 5, healed(5))
}

// Readable replies with invalid items: the items are dropped (after the
// repair call, which repeats them) and counted; the events are done, and
// nothing invalid is written.
func invalidItems(t *testing.T, f fakeopenai.Fault, relations int) {
	t.Helper()
	r := newFaultRig(t, fakeopenai.Options{Chat: fakeopenai.Always(f)})
	r.expect(0, 8, faultState{Relations: relations, Vectors: faultEvents, Done: faultEvents, Attempts: faultEvents, Invalid: 4,
		RunStatus: "done", RunCalls: 8, RunInvalid: 4, Runs: 1})
}

func TestFaultUnknownCandidate(t *testing.T) {
	t.Parallel()
	invalidItems(t, fakeopenai.UnknownCandidate, 0)
}
func TestFaultSelfLink(t *testing.T) {
	t.Parallel()
	invalidItems(t, fakeopenai.SelfLink, 0)
}
func TestFaultRationaleNamesWrongEvent(t *testing.T) {
	t.Parallel()
	invalidItems(t, fakeopenai.WrongEventInRationale, 0)
}

// TestFaultSameCandidateTwice: the first item for a candidate is kept, the
// repeat dropped.
func TestFaultSameCandidateTwice(t *testing.T) {
	t.Parallel()
	invalidItems(t, fakeopenai.SameCandidateTwice, 4)
}

// Embeddings of the wrong shape fail the embedding step with an error
// naming what is wrong; nothing of the batch is written, nothing analysed,
// and the next pass, answered well, does everything.
func badVectors(t *testing.T, f fakeopenai.Fault, problem string) {
	t.Helper()
	r := newFaultRig(t, fakeopenai.Options{Embed: fakeopenai.First(1, f)})
	code, out, errOut := r.run("run")
	if code == 0 || !strings.Contains(errOut, problem) {
		t.Errorf("exit %d; want a failure naming %q\n%s%s", code, problem, out, errOut)
	}
	s := r.state()
	if s.Vectors != 0 || s.Relations != 0 || s.Done != 0 || s.Held != 0 || s.RunStatus != "failed" || !strings.Contains(s.RunError, problem) {
		t.Errorf("after the failed pass: %+v", s)
	}
	if r.srv.Chats.Load() != 0 {
		t.Errorf("%d chat calls after a failed embedding", r.srv.Chats.Load())
	}
	want := healed(4)
	want.Runs = 2
	r.expect(0, 4, want)
}

func TestFaultEmbeddingWrongDimension(t *testing.T) {
	t.Parallel()
	badVectors(t, fakeopenai.WrongDimension, "dimensions, others 64")
}

func TestFaultEmbeddingWrongCount(t *testing.T) {
	t.Parallel()
	badVectors(t, fakeopenai.WrongCount, "response has 4 vectors for 5 inputs")
}

func TestFaultEmbeddingNaN(t *testing.T) {
	t.Parallel()
	badVectors(t, fakeopenai.NaNVector, "malformed response")
}

func TestFaultEmbeddingAllZeros(t *testing.T) {
	t.Parallel()
	badVectors(t, fakeopenai.ZeroVector, "vector of input 0 is all zeros")
}
