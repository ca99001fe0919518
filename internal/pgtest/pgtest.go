// Package pgtest gives each test a database of its own on the real
// PostgreSQL server of DATABASE_URL (started by `make test`), migrated to the
// latest schema and dropped when the test ends.
package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/relator/relator/internal/db"
)

// ServerURL is DATABASE_URL, or fails the test: tests that touch storage
// run against a real server, never a mock, and never pass by skipping.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Fatal("DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL with pgvector")
	}
	return u
}

// NewDatabase creates an empty database on the test server, drops it when
// the test ends, and returns its URL; with is appended to CREATE DATABASE
// (say, another locale).
func NewDatabase(t testing.TB, with ...string) string {
	t.Helper()
	u, drop, err := db.CreateTemp(context.Background(), ServerURL(t), "relator_test_", with...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return u
}

// New returns a pool on a fresh, migrated database of the test's own.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := db.Open(context.Background(), NewDatabase(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
