package schedule

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pgtest"
)

// twoPools is two replicas' pools on one fresh database.
func twoPools(t *testing.T) (*pgxpool.Pool, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	var pools [2]*pgxpool.Pool
	for i := range pools {
		p, err := db.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	return pools[0], pools[1]
}

// held releases c when the test ends unless the test did: a claim left
// holding its connection would make the pool's Close wait forever.
func held(t *testing.T, c *claim) func() error {
	t.Helper()
	done := false
	release := func() error {
		if done {
			return nil
		}
		done = true
		return c.release(context.Background())
	}
	t.Cleanup(func() { release() })
	return release
}

func TestClaimTickOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	a, b := twoPools(t)
	tick := time.Date(2025, 3, 10, 2, 30, 0, 0, time.UTC)
	row := func(host string, tick time.Time) tickRow { return tickRow{"30 2 * * *", tick, host, 42} }

	ca, why, err := claimTick(ctx, a, "test.lock", row("a", tick))
	if err != nil || why != runs || ca == nil {
		t.Fatalf("first claim: %v, %q, %v", ca, why, err)
	}
	releaseA := held(t, ca)
	// While a holds the lock, b runs nothing, whichever tick it asks for.
	for _, tk := range []time.Time{tick, tick.Add(24 * time.Hour)} {
		if c, why, err := claimTick(ctx, b, "test.lock", row("b", tk)); err != nil || why != lockHeld || c != nil {
			t.Fatalf("claim while held: %v, %q, %v", c, why, err)
		}
	}
	// Another lock name is another scheduler.
	other, why, err := claimTick(ctx, b, "other.lock", tickRow{"@daily", tick, "b", 42})
	if err != nil || why != runs {
		t.Fatalf("claim under another lock: %q, %v", why, err)
	}
	if err := held(t, other)(); err != nil {
		t.Fatal(err)
	}
	if err := releaseA(); err != nil {
		t.Fatal(err)
	}

	// The lock is free, but the tick has run: b, waking late, skips it.
	if c, why, err := claimTick(ctx, b, "test.lock", row("b", tick)); err != nil || why != alreadyRan || c != nil {
		t.Fatalf("claim of a tick that ran: %v, %q, %v", c, why, err)
	}
	// Skipping released the lock: the next tick is b's.
	cb, why, err := claimTick(ctx, b, "test.lock", row("b", tick.Add(24*time.Hour)))
	if err != nil || why != runs {
		t.Fatalf("claim of the next tick: %q, %v", why, err)
	}
	if err := held(t, cb)(); err != nil {
		t.Fatal(err)
	}

	var locks int
	if err := a.QueryRow(ctx, `
		SELECT count(*) FROM pg_locks
		 WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if locks != 0 {
		t.Errorf("%d advisory locks still held after every release", locks)
	}

	rows, err := a.Query(ctx, `SELECT spec, tick, host, pid FROM schedule_ticks WHERE spec = '30 2 * * *' ORDER BY tick`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []tickRow
	for rows.Next() {
		var r tickRow
		if err := rows.Scan(&r.spec, &r.tick, &r.host, &r.pid); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].host != "a" || !got[0].tick.Equal(tick) || got[1].host != "b" || got[0].pid != 42 {
		t.Errorf("schedule_ticks = %+v, want tick by a, next tick by b", got)
	}
}

// A claim whose session died (the database restarted mid-pass) cannot
// unlock; release says so and drops the connection, and the lock, gone
// with the session, is free for the next tick.
func TestReleaseAfterTheSessionDied(t *testing.T) {
	ctx := context.Background()
	a, b := twoPools(t)
	tick := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	c, why, err := claimTick(ctx, a, "test.lock", tickRow{"@daily", tick, "a", 1})
	if err != nil || why != runs {
		t.Fatalf("claim: %q, %v", why, err)
	}
	release := held(t, c)
	pid := c.conn.Conn().PgConn().PID()
	if _, err := b.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if err := release(); err == nil {
		t.Error("release on a dead session: no error")
	}
	c2, why, err := claimTick(ctx, a, "test.lock", tickRow{"@daily", tick.Add(24 * time.Hour), "a", 1})
	if err != nil || why != runs {
		t.Fatalf("claim after the session died: %q, %v", why, err)
	}
	if err := held(t, c2)(); err != nil {
		t.Fatal(err)
	}
}
