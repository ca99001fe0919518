package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/internal/fakeopenai"
	"github.com/relator/relator/internal/synth"
)

// The database faults: PostgreSQL stops under relator. They run against a
// private cluster of their own, started and stopped with the project's
// scripts/db.sh (RELATOR_DB_DIR, RELATOR_DB_PORT), never the shared one of
// DATABASE_URL.

// privateCluster is a PostgreSQL + pgvector cluster this test owns.
type privateCluster struct {
	t        *testing.T
	env      []string
	url      string // of its database "relator"
	mu       sync.Mutex
	stopped  time.Time
	restarts int
}

func newPrivateCluster(t *testing.T) *privateCluster {
	t.Helper()
	// Not t.TempDir (0700): the server runs as "postgres" when we are root.
	dir, err := os.MkdirTemp("", "relator-dbfault-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	c := &privateCluster{t: t, env: append(os.Environ(), "RELATOR_DB_DIR="+filepath.Join(dir, "pg"), "RELATOR_DB_PORT="+port)}
	t.Cleanup(func() {
		c.script("stop")
		os.RemoveAll(dir)
	})
	out := c.script("start")
	line := strings.TrimSpace(out[strings.LastIndex(out, "DATABASE_URL="):])
	c.url = strings.TrimPrefix(line, "DATABASE_URL=")
	if !strings.Contains(c.url, ":"+port+"/") {
		t.Fatalf("scripts/db.sh start printed %q", out)
	}
	return c
}

// script runs scripts/db.sh cmd against the cluster and returns its stdout.
func (c *privateCluster) script(cmd string) string {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	sh := exec.Command("bash", "../../scripts/db.sh", cmd)
	sh.Env, sh.Stdout, sh.Stderr = c.env, &stdout, &stderr
	if err := sh.Run(); err != nil {
		c.t.Errorf("scripts/db.sh %s: %v\n%s", cmd, err, stderr.String())
	}
	return stdout.String()
}

// stop stops the cluster (once, from any goroutine).
func (c *privateCluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped.IsZero() {
		return
	}
	c.script("stop")
	c.stopped = time.Now()
}

func (c *privateCluster) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.script("start")
	c.stopped = time.Time{}
	c.restarts++
}

// database creates a database on the cluster with n synthetic events
// imported.
func (c *privateCluster) database(name string, n int) string {
	c.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		c.t.Fatal(err)
	}
	url := strings.Replace(c.url, "/relator?", "/"+name+"?", 1)
	file := filepath.Join(c.t.TempDir(), "events.jsonl")
	var b bytes.Buffer
	if err := synth.Write(&b, synth.Options{Events: n, Seed: 3}); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		c.t.Fatal(err)
	}
	mustCLI(c.t, url, "import", file)
	return url
}

func dbFaultEnviron(srv *fakeopenai.Server, url string, extra ...string) []string {
	return append([]string{"DATABASE_URL=" + url, "OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + srv.BaseURL(),
		"RELATOR_EMBEDDER=openai", "RELATOR_EMBEDDING_MODEL=test-embedder", "RELATOR_EMBED_BATCH=50",
		"RELATOR_CLASSIFIER=openai", "RELATOR_CHAT_MODEL=test-chat", "RELATOR_LEASE=2s", "RELATOR_CONCURRENCY=4",
		"RELATOR_HTTP_ADDR=", "PATH=" + os.Getenv("PATH")}, extra...)
}

// halfWritten lists what a crash may not leave: a relation of an event not
// done, a done event with a prior but no relation (the fake relates every
// such event), a claim leased for longer than one lease from now.
func halfWritten(t *testing.T, url string) string {
	t.Helper()
	var problems []string
	if n := queryInt(t, url, `SELECT count(*) FROM relations r JOIN event_analyses a ON a.event_id = r.new_event_id
		WHERE a.status <> 'done'`); n > 0 {
		problems = append(problems, fmt.Sprintf("%d relations of events not done", n))
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses a WHERE a.status = 'done' AND a.llm_calls > 0
		AND NOT EXISTS (SELECT 1 FROM relations r WHERE r.new_event_id = a.event_id)`); n > 0 {
		problems = append(problems, fmt.Sprintf("%d done analyses without their relation", n))
	}
	if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'running' AND lease_until > now() + interval '2s'`); n > 0 {
		problems = append(problems, fmt.Sprintf("%d claims leased past one lease", n))
	}
	return strings.Join(problems, "; ")
}

func dbFaultEvents() int {
	if os.Getenv("RELATOR_CHAOS_LONG") != "" {
		return 2000
	}
	return 400
}

func TestFaultDatabaseStopped(t *testing.T) {
	t.Parallel()
	c := newPrivateCluster(t)
	events := dbFaultEvents()

	t.Run("mid-embedding", func(t *testing.T) {
		url := c.database("embedding", events)
		srv := fakeopenai.New(fakeopenai.Options{OnEmbed: func(n int64) {
			if n == 3 {
				c.stop() // the third batch's answer comes back to no database
			}
		}})
		defer srv.Close()
		p := start(t, dbFaultEnviron(srv, url), "run")
		code := p.wait(t)
		if code == 0 || !strings.Contains(p.stderr.String(), "embed") {
			t.Errorf("exit %d; want a failure naming the embedding step\n%s%s", code, p.stdout.String(), p.stderr.String())
		}
		t.Logf("the error as the operator sees it: %s", lastLine(p.stderr.String()))
		c.start()
		// Whole batches only: two of 50 were written before the stop.
		if n := queryInt(t, url, `SELECT count(*) FROM embeddings`); n%50 != 0 || n > 100 {
			t.Errorf("%d vectors after the stop: a batch was half written", n)
		}
		if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != 0 {
			t.Errorf("%d relations written before every vector was", n)
		}
		next := start(t, dbFaultEnviron(srv, url), "run")
		if code := next.wait(t); code != 0 {
			t.Fatalf("the next run exited %d\n%s%s", code, next.stdout.String(), next.stderr.String())
		}
		if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`); n != events {
			t.Errorf("%d of %d events done after the next run", n, events)
		}
		if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != events-1 {
			t.Errorf("%d relations; want %d", n, events-1)
		}
		if s := halfWritten(t, url); s != "" {
			t.Error(s)
		}
	})

	t.Run("mid-analysis", func(t *testing.T) {
		url := c.database("analysis", events)
		stopAt := int64(events / 3)
		srv := fakeopenai.New(fakeopenai.Options{Latency: time.Millisecond, OnChat: func(n int64) {
			if n == stopAt {
				c.stop() // this call and those in flight answer to no database
			}
		}})
		defer srv.Close()
		p := start(t, dbFaultEnviron(srv, url), "run")
		code := p.wait(t)
		if code == 0 || !strings.Contains(p.stderr.String(), "analyse") {
			t.Errorf("exit %d; want a failure naming the analysis\n%s%s", code, p.stdout.String(), p.stderr.String())
		}
		t.Logf("the error as the operator sees it: %s", lastLine(p.stderr.String()))
		c.start()
		if s := halfWritten(t, url); s != "" {
			t.Error(s)
		}
		done := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`)
		if done == 0 || done >= events {
			t.Errorf("%d of %d done at the stop: the test stopped the database at the wrong moment", done, events)
		}
		if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status IN ('failed', 'dead')`); n != 0 {
			t.Errorf("%d analyses failed by the database's outage: it is no event's fault", n)
		}
		next := start(t, dbFaultEnviron(srv, url), "run")
		if code := next.wait(t); code != 0 {
			t.Fatalf("the next run exited %d\n%s%s", code, next.stdout.String(), next.stderr.String())
		}
		if n := queryInt(t, url, `SELECT count(*) FROM event_analyses WHERE status = 'done'`); n != events {
			t.Errorf("%d of %d events done after the next run", n, events)
		}
		if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != events-1 {
			t.Errorf("%d relations; want %d: lost or duplicated", n, events-1)
		}
		if s := halfWritten(t, url); s != "" {
			t.Error(s)
		}
	})

	t.Run("schedule survives an outage", func(t *testing.T) {
		url := c.database("schedule", 50)
		srv := fakeopenai.New(fakeopenai.Options{})
		defer srv.Close()
		p := start(t, dbFaultEnviron(srv, url, "RELATOR_GRACE_PERIOD=5s"), "schedule", "--spec", "@every 2s", "--run-now")
		waitFor(t, "a first pass", func() bool {
			return queryInt(t, url, `SELECT count(*) FROM runs WHERE command = 'schedule' AND status = 'done'`) >= 1
		})
		c.stop()
		time.Sleep(5 * time.Second) // two ticks with no database
		select {
		case <-p.done:
			t.Fatalf("relator schedule exited during the outage\n%s%s", p.stdout.String(), p.stderr.String())
		default:
		}
		c.start()
		// New events after the outage are analysed at a next tick.
		var b bytes.Buffer
		if err := synth.Write(&b, synth.Options{Events: 5, Seed: 4, IDPrefix: "late", Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "late.jsonl")
		if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		mustCLI(t, url, "import", file)
		waitFor(t, "the late events analysed by a tick", func() bool {
			return queryInt(t, url, `SELECT count(*) FROM event_analyses a JOIN events e ON e.id = a.event_id
				WHERE e.source_id LIKE 'late%' AND a.status = 'done'`) == 5
		})
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(t); code != 0 {
			t.Fatalf("schedule exited %d after SIGTERM\n%s%s", code, p.stdout.String(), p.stderr.String())
		}
		t.Logf("what the schedule said of the outage: %s", firstLineWith(p.stderr.String(), "error"))
		if n := queryInt(t, url, `SELECT count(*) FROM relations`); n != 54 {
			t.Errorf("%d relations; want 54", n)
		}
	})
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

func firstLineWith(s, word string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), word) {
			return l
		}
	}
	return "(nothing)"
}
