package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	openai "github.com/sashabaranov/go-openai"

	"github.com/relator/relator/internal/pgtest"
)

// The tests here run relator as its operators do: as processes, killed,
// interrupted and started side by side, against a model server that takes
// its time.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// relatorBinary builds the relator command once per test binary.
func relatorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relator-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "relator")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// slowModel is a chat server that answers after latency, relating
// "Event 1" to the New Event, or with status when fail is set.
type slowModel struct {
	srv     *httptest.Server
	calls   atomic.Int64
	latency time.Duration
	status  int // non-zero: answer every call with this status
}

func newSlowModel(t *testing.T, latency time.Duration) *slowModel {
	t.Helper()
	m := &slowModel{latency: latency}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		m.calls.Add(1)
		var req openai.ChatCompletionRequest
		json.NewDecoder(r.Body).Decode(&req)
		select {
		case <-time.After(m.latency):
		case <-r.Context().Done():
			return
		}
		if m.status != 0 {
			http.Error(w, `{"error":{"message":"the server had an error","type":"server_error"}}`, m.status)
			return
		}
		content := `{"relations":[{"event":1,"type":"continuation","confidence":0.7,"rationale":"Event 1 reports the step before. The New Event continues it."}]}`
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 30, "total_tokens": 530}})
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// environ is the environment of relator processes against db and m: the
// offline embedder, m's chat model, short leases.
func (m *slowModel) environ(db string, extra ...string) []string {
	env := []string{"DATABASE_URL=" + db, "OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + m.srv.URL + "/v1",
		"RELATOR_EMBEDDER=offline", "RELATOR_CLASSIFIER=openai", "RELATOR_CHAT_MODEL=test-chat",
		"RELATOR_MAX_RETRIES=0", "RELATOR_LEASE=3s", "RELATOR_CONCURRENCY=4", "RELATOR_HTTP_ADDR=", "PATH=" + os.Getenv("PATH")}
	return append(env, extra...)
}

// process is a running relator command.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(relatorBinary(t), args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("relator %v did not exit\n%s%s", p.cmd.Args[1:], p.stdout.String(), p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freshSample is a database holding the imported sample.
func freshSample(t *testing.T) string {
	t.Helper()
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", devSet)
	return url
}

type relPair struct{ New, Prior, Type string }

func pairs(t *testing.T, url string) []relPair {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `
		SELECT n.source_id, p.source_id, r.type FROM relations r
		  JOIN events n ON n.id = r.new_event_id JOIN events p ON p.id = r.prior_event_id
		 ORDER BY 1, 2`)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[relPair])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func queryInt(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// reference is what one uninterrupted `relator run` writes on the sample
// against m.
func reference(t *testing.T, m *slowModel) []relPair {
	t.Helper()
	url := freshSample(t)
	if code := start(t, m.environ(url), "run").wait(t); code != 0 {
		t.Fatalf("reference run exited %d", code)
	}
	return pairs(t, url)
}

// TestThreeRunsTogetherWriteWhatOneRunWrites: three `relator run`
// processes started together on a fresh import write exactly the pairs one
// run writes, each doing a share.
func TestThreeRunsTogetherWriteWhatOneRunWrites(t *testing.T) {
	m := newSlowModel(t, 5*time.Millisecond)
	want := reference(t, m)
	url := freshSample(t)
	var ps []*process
	for range 3 {
		ps = append(ps, start(t, m.environ(url), "run"))
	}
	for i, p := range ps {
		if code := p.wait(t); code != 0 {
			t.Fatalf("run %d exited %d\n%s%s", i, code, p.stdout.String(), p.stderr.String())
		}
		if strings.Contains(p.stdout.String(), "analysed 0 ") {
			t.Errorf("run %d did no share of the analysis: %s", i, p.stdout.String())
		}
	}
	if got := pairs(t, url); !slices.Equal(got, want) {
		t.Fatalf("three runs wrote %d relations; one run writes %d", len(got), len(want))
	}
}

// TestKilledRunIsTakenOverAndClosed: a run SIGKILLed mid-pass leaves its
// claims leased; the next run takes them over once the lease runs out,
// finishes everything, and closes the killed run's record as aborted.
func TestKilledRunIsTakenOverAndClosed(t *testing.T) {
	m := newSlowModel(t, 20*time.Millisecond)
	want := reference(t, m)
	url := freshSample(t)
	before := m.calls.Load()
	first := start(t, m.environ(url), "run")
	waitFor(t, "100 model calls", func() bool { return m.calls.Load()-before >= 100 })
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(t)
	leased := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'running'`)
	if leased == 0 {
		t.Fatal("the killed run left no claims: the test killed it at the wrong moment")
	}
	began := time.Now()
	second := start(t, m.environ(url), "run")
	if code := second.wait(t); code != 0 {
		t.Fatalf("second run exited %d\n%s%s", code, second.stdout.String(), second.stderr.String())
	}
	t.Logf("the second run took over %d claims and finished in %s (lease 3s)", leased, time.Since(began).Round(time.Millisecond))
	// A claim statement the killed process had sent may still commit after
	// the count above: at least the counted claims are taken over.
	took := 0
	if m := regexp.MustCompile(`(\d+) taken over from stopped processes`).FindStringSubmatch(second.stdout.String()); m != nil {
		took, _ = strconv.Atoi(m[1])
	}
	if took < leased {
		t.Errorf("the second run does not say it took over the killed run's %d claims:\n%s%s", leased, second.stdout.String(), second.stderr.String())
	}
	if got := pairs(t, url); !slices.Equal(got, want) {
		t.Fatalf("killed + resumed runs wrote %d relations; one run writes %d", len(got), len(want))
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status <> 'done'`); n != 0 {
		t.Fatalf("%d analyses not done", n)
	}
	// The killed run's record says what became of it, now or once its
	// heartbeat is stale.
	out := mustCLI(t, url, "runs", "--json")
	var list []struct {
		ID            int64
		Status, Error string
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	if list[1].Status != "aborted" && list[1].Status != "running" || list[0].Status != "done" {
		t.Fatalf("runs: %+v", list)
	}
}

// TestPassWhoseCallsAllFailExitsNonZero: a model server answering 500 to
// everything makes a pass that is recorded as partial and exits 3.
func TestPassWhoseCallsAllFailExitsNonZero(t *testing.T) {
	m := newSlowModel(t, 0)
	m.status = http.StatusInternalServerError
	url := freshSample(t)
	p := start(t, m.environ(url), "run")
	if code := p.wait(t); code != 3 {
		t.Fatalf("exit %d; want 3\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	if !strings.Contains(p.stdout.String(), "partial") || !strings.Contains(p.stderr.String(), "427 failed") {
		t.Fatalf("summary does not say the pass failed:\n%s%s", p.stdout.String(), p.stderr.String())
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE status = 'partial' AND failed = 427`); n != 1 {
		t.Fatal("the run is not recorded as partial with 427 failed")
	}
	out := mustCLI(t, url, "status")
	if !strings.Contains(out, "427 failed") || !strings.Contains(out, "newest errors") {
		t.Fatalf("status:\n%s", out)
	}
}

// TestBackfillInterruptedAndResumed: Ctrl-C stops a backfill gracefully
// (what is in flight is written); started again, it does not repeat a
// finished event and ends with what one uninterrupted run writes.
func TestBackfillInterruptedAndResumed(t *testing.T) {
	m := newSlowModel(t, 10*time.Millisecond)
	want := reference(t, m)
	url := freshSample(t)
	before := m.calls.Load()
	args := []string{"backfill", "--from", "2015-09-01", "--to", "2015-09-30"}
	first := start(t, m.environ(url, "RELATOR_PROGRESS_INTERVAL=1s"), args...)
	waitFor(t, "100 model calls", func() bool { return m.calls.Load()-before >= 100 })
	first.cmd.Process.Signal(syscall.SIGINT)
	if code := first.wait(t); code != 130 {
		t.Fatalf("interrupted backfill exited %d; want 130\n%s%s", code, first.stdout.String(), first.stderr.String())
	}
	done := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
	if left := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'running'`); left != 0 {
		t.Fatalf("%d claims left by a graceful stop", left)
	}
	second := start(t, m.environ(url), args...)
	if code := second.wait(t); code != 0 {
		t.Fatalf("resumed backfill exited %d\n%s%s", code, second.stdout.String(), second.stderr.String())
	}
	if calls := m.calls.Load() - before; calls != 427 {
		t.Errorf("the two backfills made %d model calls; 427 events need one each (%d done before the restart)", calls, done)
	}
	if got := pairs(t, url); !slices.Equal(got, want) {
		t.Fatalf("interrupted + resumed backfill wrote %d relations; one run writes %d", len(got), len(want))
	}
	if !strings.Contains(first.stderr.String(), "progress: ") {
		t.Errorf("no progress lines on a non-terminal:\n%s", first.stderr.String())
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE command = 'backfill' AND status = 'aborted'`); n != 1 {
		t.Errorf("%d aborted backfill runs recorded; want 1", n)
	}
}

// TestSchedulersRunOnePassPerTick: two `relator schedule` replicas on one
// database run one pass per tick between them, serve /healthz and
// /metrics, and exit 0 on SIGTERM.
func TestSchedulersRunOnePassPerTick(t *testing.T) {
	m := newSlowModel(t, time.Millisecond)
	url := freshSample(t)
	addr := freeAddr(t)
	a := start(t, m.environ(url, "RELATOR_HTTP_ADDR="+addr, "RELATOR_GRACE_PERIOD=5s"), "schedule", "--spec", "@every 2s", "--run-now")
	b := start(t, m.environ(url, "RELATOR_GRACE_PERIOD=5s"), "schedule", "--spec", "@every 2s", "--run-now")
	waitFor(t, "four ticks run", func() bool {
		return queryInt(t, url, `SELECT count(*) FROM runs WHERE command = 'schedule' AND status <> 'running'`) >= 4
	})
	health := get(t, "http://"+addr+"/healthz")
	metricsText := get(t, "http://"+addr+"/metrics")
	for _, p := range []*process{a, b} {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range []*process{a, b} {
		if code := p.wait(t); code != 0 {
			t.Fatalf("schedule exited %d after SIGTERM\n%s%s", code, p.stdout.String(), p.stderr.String())
		}
	}
	if !strings.HasPrefix(health, "ok") {
		t.Errorf("/healthz: %q", health)
	}
	for _, name := range []string{"relator_passes_total", "relator_events_analysed_total", "relator_relations_written_total",
		"relator_model_calls_total", "relator_tokens_total", "relator_pass_duration_seconds", "relator_pending_work",
		"relator_next_fire_timestamp_seconds"} {
		if !strings.Contains(metricsText, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	ticks := queryInt(t, url, `SELECT count(*) FROM schedule_ticks`)
	passes := queryInt(t, url, `SELECT count(*) FROM runs WHERE command = 'schedule'`)
	distinct := queryInt(t, url, `SELECT count(DISTINCT params->>'tick') FROM runs WHERE command = 'schedule'`)
	if passes != ticks || distinct != passes {
		t.Fatalf("%d passes for %d ticks (%d distinct): want one pass per tick", passes, ticks, distinct)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`); n != 428 {
		t.Fatalf("%d events analysed; want 428", n)
	}
	skipped := strings.Count(a.stderr.String()+b.stderr.String(), "skipped")
	if skipped == 0 {
		t.Errorf("no replica ever skipped a tick: the lock did nothing")
	}
}

// TestScheduleSIGTERMMidPass: SIGTERM during a pass lets the calls in
// flight finish, releases the rest, records the run as aborted and exits 0;
// nothing is lost or duplicated.
func TestScheduleSIGTERMMidPass(t *testing.T) {
	m := newSlowModel(t, 20*time.Millisecond)
	want := reference(t, m)
	url := freshSample(t)
	before := m.calls.Load()
	p := start(t, m.environ(url, "RELATOR_GRACE_PERIOD=10s"), "schedule", "--spec", "@every 1h", "--run-now")
	waitFor(t, "50 model calls", func() bool { return m.calls.Load()-before >= 50 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE command = 'schedule' AND status = 'aborted'`); n != 1 {
		t.Fatalf("%d aborted schedule runs; want 1\n%s", n, p.stderr.String())
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'running'`); n != 0 {
		t.Fatalf("%d claims left after SIGTERM", n)
	}
	rest := start(t, m.environ(url), "run")
	if code := rest.wait(t); code != 0 {
		t.Fatalf("run after the schedule exited %d", code)
	}
	if calls := m.calls.Load() - before; calls != 427 {
		t.Errorf("%d model calls in all; 427 events need one each", calls)
	}
	if got := pairs(t, url); !slices.Equal(got, want) {
		t.Fatalf("wrote %d relations; one run writes %d", len(got), len(want))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestBackfillReanalyzeResumesAndKeepsDecisions: --reanalyze analyses the
// range again under the same model and prompt version; cut short (here by
// --limit) it resumes without redoing what it redid; a reviewed relation
// keeps its decision and no pair is written twice.
func TestBackfillReanalyzeResumesAndKeepsDecisions(t *testing.T) {
	url := freshSample(t)
	mustCLI(t, url, "run")
	relations := queryInt(t, url, `SELECT count(*) FROM relations`)
	mustCLI(t, url, "review", "approve", "1")
	args := []string{"backfill", "--from", "2015-09-01", "--to", "2015-09-30", "--reanalyze"}
	if out := mustCLI(t, url, append(args, "--limit", "100")...); !strings.Contains(out, "analysed 100 ") {
		t.Fatalf("limited re-analysis: %s", out)
	}
	if out := mustCLI(t, url, args...); !strings.Contains(out, "analysed 328 ") {
		t.Fatalf("resumed re-analysis must do the 328 left: %s", out)
	}
	if out := mustCLI(t, url, args...); !strings.Contains(out, "analysed 428 ") {
		t.Fatalf("a finished re-analysis is followed by a new one: %s", out)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != relations {
		t.Fatalf("%d relations after re-analyses; %d before: a pair is never written twice", n, relations)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM relations WHERE id = 1 AND status = 'approved'`); n != 1 {
		t.Fatal("the approved relation lost its decision")
	}
	if out := mustCLI(t, url, "backfill", "--from", "2015-09-01", "--to", "2015-09-30"); !strings.Contains(out, "analysed 0 ") {
		t.Fatalf("a backfill of a finished range repeats nothing: %s", out)
	}
}
