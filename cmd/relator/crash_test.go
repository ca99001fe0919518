package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relator/relator/internal/fakeopenai"
	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/internal/synth"
	"github.com/relator/relator/runs"
)

// The crash test: `relator run` over a synthetic archive, SIGKILLed at
// random (seeded) moments — during embedding, with model calls in flight,
// and between a model's answer and its write — restarted each time, then
// let finish. `make chaos` runs it long (RELATOR_CHAOS_KILLS=20); CI runs
// it short.

// crashConcurrency is RELATOR_CONCURRENCY of the killed runs.
const crashConcurrency = 4

// lostCallsPerKill bounds the model calls one SIGKILL may cost: the calls
// in flight when it lands, whose answers are lost with the process (at
// most the concurrency). An answer that arrived is logged (model_calls)
// before it is used, so a kill between an answer and its write costs
// nothing: the next attempt reuses the logged answer. With a concurrency
// of 1 the bound is the "events + kills".
const lostCallsPerKill = crashConcurrency

// chaosSetting reads an integer setting of the crash test from the
// environment, or its default.
func chaosSetting(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// killer SIGKILLs the process it is armed for when the server reaches the
// armed moment: the at-th embeddings request, chat call or answer.
type killer struct {
	mu     sync.Mutex
	p      *process
	phase  string
	at     int64
	killed bool
}

func (k *killer) arm(p *process, phase string, at int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.p, k.phase, k.at, k.killed = p, phase, at, false
}

// hit is called by the server's hooks; it kills synchronously, so that an
// answer's hook returns only once the client is being killed.
func (k *killer) hit(phase string, n int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.p == nil || k.killed || k.phase != phase || n < k.at {
		return
	}
	k.p.cmd.Process.Signal(syscall.SIGKILL)
	k.killed = true
}

func (k *killer) fired() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.killed
}

func TestFaultCrashKilledRunsLoseAndDuplicateNothing(t *testing.T) {
	t.Parallel()
	events := chaosSetting(t, "RELATOR_CHAOS_EVENTS", 2000)
	kills := chaosSetting(t, "RELATOR_CHAOS_KILLS", 3)
	seed := chaosSetting(t, "RELATOR_CHAOS_SEED", time.Now().UnixNano()%1_000_000)
	t.Logf("chaos: seed %d (RELATOR_CHAOS_SEED=%d repeats it), %d events, %d kills", seed, seed, events, kills)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	file := filepath.Join(t.TempDir(), "events.jsonl")
	var b bytes.Buffer
	if err := synth.Write(&b, synth.Options{Events: int(events), Seed: 42}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := fakeopenai.Options{Latency: 2 * time.Millisecond}
	k := &killer{}
	var srv *fakeopenai.Server
	opts.OnEmbed = func(n int64) { k.hit("embedding", n) }
	opts.OnChat = func(n int64) { k.hit("in flight", n) }
	opts.OnAnswer = func(int64) { k.hit("after answer", srv.Answers.Load()) }
	srv = fakeopenai.New(opts)
	t.Cleanup(srv.Close)
	refSrv := fakeopenai.New(fakeopenai.Options{Latency: 2 * time.Millisecond})
	t.Cleanup(refSrv.Close)
	environ := func(s *fakeopenai.Server, db string) []string {
		return []string{"DATABASE_URL=" + db, "OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + s.BaseURL(),
			"RELATOR_EMBEDDER=openai", "RELATOR_EMBEDDING_MODEL=test-embedder", "RELATOR_EMBED_BATCH=100",
			"RELATOR_CLASSIFIER=openai", "RELATOR_CHAT_MODEL=test-chat", "RELATOR_LEASE=1s",
			"RELATOR_CONCURRENCY=" + strconv.Itoa(crashConcurrency), "RELATOR_HTTP_ADDR=", "RELATOR_LOG_LEVEL=error",
			"PATH=" + os.Getenv("PATH")}
	}

	began := time.Now()
	refDB := pgtestDatabase(t, file)
	url := pgtestDatabase(t, file)
	t.Logf("imported twice in %s", time.Since(began).Round(time.Millisecond))

	phases := map[string]int{}
	var lastKill time.Time
	for i := int64(0); i < kills; i++ {
		vectors := queryInt(t, url, `SELECT count(*) FROM embeddings`)
		done := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
		left := max(int64(events)-int64(done), 1)
		// Spread the kills over what is left, so that each lands.
		step := max(left/(kills-i+1), 1)
		phase := []string{"in flight", "after answer", "embedding"}[rng.IntN(3)]
		if int64(vectors) >= events {
			phase = []string{"in flight", "after answer"}[rng.IntN(2)]
		}
		var at int64
		switch phase {
		case "embedding":
			at = srv.Embeds.Load() + 1 + rng.Int64N(max((events-int64(vectors))/100, 1))
		case "in flight":
			at = srv.Chats.Load() + 1 + rng.Int64N(step)
		case "after answer":
			at = srv.Answers.Load() + 1 + rng.Int64N(step)
		}
		p := start(t, environ(srv, url), "run")
		k.arm(p, phase, at)
		code := p.wait(t)
		if !k.fired() {
			t.Fatalf("kill %d (%s at %d) never came: the run exited %d first\n%s%s", i+1, phase, at, code, p.stdout.String(), p.stderr.String())
		}
		lastKill = time.Now()
		phases[phase]++
	}
	k.arm(nil, "", 0)
	t.Logf("%d kills in %s", kills, time.Since(began).Round(time.Millisecond))
	// The uninterrupted run, in a database of its own, while the last run
	// finishes and the killed runs' heartbeats go stale.
	ref := start(t, environ(refSrv, refDB), "run")
	last := start(t, environ(srv, url), "run")
	if code := last.wait(t); code != 0 {
		t.Fatalf("the run after the kills exited %d\n%s%s", code, last.stdout.String(), last.stderr.String())
	}
	if code := ref.wait(t); code != 0 {
		t.Fatalf("the uninterrupted run exited %d\n%s%s", code, ref.stdout.String(), ref.stderr.String())
	}

	t.Logf("last and uninterrupted runs done at %s", time.Since(began).Round(time.Millisecond))
	want, got := pairs(t, refDB), pairs(t, url)
	if !slices.Equal(got, want) {
		t.Errorf("killed and restarted runs wrote %d relations; the uninterrupted run %d", len(got), len(want))
	}
	if n := queryInt(t, url, `SELECT count(*) FROM embeddings`); int64(n) != events {
		t.Errorf("%d vectors for %d events", n, events)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses
		WHERE status = 'done' OR status = 'dead' AND last_error IS NOT NULL`); int64(n) != events {
		t.Errorf("%d of %d events analysed or dead-lettered with a reason", n, events)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'running'`); n != 0 {
		t.Errorf("%d claims left after the last run", n)
	}
	calls, bound := srv.Chats.Load(), events-1+kills*lostCallsPerKill
	if calls > bound {
		t.Errorf("%d model calls; at most %d (events with a prior + kills × %d) may be made", calls, bound, lostCallsPerKill)
	}

	// A killed run's record is closed once its heartbeat is stale, by the
	// next command that looks.
	time.Sleep(time.Until(lastKill.Add(runs.StaleAfter + time.Second)))
	mustCLI(t, url, "runs", "--json")
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d run records left open", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM runs WHERE status = 'aborted'`); int64(n) != kills {
		t.Errorf("%d runs closed as aborted; %d were killed", n, kills)
	}
	summary := fmt.Sprintf("chaos: seed %d, %d events, %d kills (%d embedding, %d in flight, %d after answer), "+
		"%d relations compared, %d model calls (bound %d; uninterrupted run %d)",
		seed, events, kills, phases["embedding"], phases["in flight"], phases["after answer"],
		len(want), calls, bound, refSrv.Chats.Load())
	t.Log(summary)
	fmt.Println(summary)
}

// pgtestDatabase is a fresh database with file imported.
func pgtestDatabase(t *testing.T, file string) string {
	t.Helper()
	url := pgtest.NewDatabase(t)
	mustCLI(t, url, "import", file)
	return url
}
