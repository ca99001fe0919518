package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// skip says why a tick runs no pass here; the empty skip means it runs.
type skip string

const (
	runs       skip = ""
	lockHeld   skip = "another replica holds the lock"
	alreadyRan skip = "another replica ran this tick"
	stillBusy  skip = "the previous pass is still running"
)

// claim is a tick this process runs: it holds the advisory lock on conn, a
// session lock, until release.
type claim struct {
	conn *pgxpool.Conn
	lock string
}

// tickRow is a tick as schedule_ticks records it.
type tickRow struct {
	spec string
	tick time.Time
	host string
	pid  int
}

// claimTick takes a connection from pool and tries the advisory lock named
// lock on it; holding it, it records the tick. It returns the claim, or why
// the tick is not this process's to run: the lock is held elsewhere, or the
// tick's row exists already (another replica ran it and let go of the lock
// before this one woke up).
func claimTick(ctx context.Context, pool *pgxpool.Pool, lock string, row tickRow) (*claim, skip, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, runs, fmt.Errorf("acquire connection: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, lock).Scan(&locked); err != nil {
		conn.Release()
		return nil, runs, fmt.Errorf("try lock %s: %w", lock, err)
	}
	if !locked {
		conn.Release()
		return nil, lockHeld, nil
	}
	c := &claim{conn: conn, lock: lock}
	tag, err := conn.Exec(ctx, `
		INSERT INTO schedule_ticks (spec, tick, host, pid) VALUES ($1, $2, nullif($3, ''), nullif($4, 0))
		ON CONFLICT (spec, tick) DO NOTHING`,
		row.spec, row.tick, row.host, row.pid)
	if err != nil {
		return nil, runs, errors.Join(fmt.Errorf("record tick: %w", err), c.release(ctx))
	}
	if tag.RowsAffected() == 0 {
		return nil, alreadyRan, c.release(ctx)
	}
	return c, runs, nil
}

// release lets go of the lock and gives the connection back. It runs after
// the pass, when ctx may be cancelled already (shutdown), so it has a few
// seconds of its own. A connection whose unlock fails is closed rather than
// given back, since closing it is what ends a session lock: a pooled
// connection still holding it would keep every replica skipping.
func (c *claim) release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	defer c.conn.Release()
	var unlocked bool
	err := c.conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, c.lock).Scan(&unlocked)
	if err == nil && !unlocked {
		err = errors.New("was not held")
	}
	if err != nil {
		c.conn.Conn().Close(ctx)
		return fmt.Errorf("unlock %s: %w", c.lock, err)
	}
	return nil
}
