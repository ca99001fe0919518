package migrations_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/internal/pgtest"
	"github.com/relator/relator/migrations"
)

// TestConcurrentMigrate runs several migrations of one empty database at
// once, as replicas starting together do: none may fail, and the schema
// ends at the latest version exactly once.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	latest, err := migrations.Latest()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, to, err := migrations.Migrate(ctx, url)
			if err == nil && to != latest {
				t.Errorf("migrated to %d, want %d", to, latest)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version int32
	if err := conn.QueryRow(ctx, "SELECT version FROM "+migrations.VersionTable).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != latest {
		t.Fatalf("schema version %d, want %d", version, latest)
	}
	from, to, err := migrations.Migrate(ctx, url)
	if err != nil || from != latest || to != latest {
		t.Fatalf("migrating again: %d → %d, %v; want a no-op", from, to, err)
	}
}

// TestMigrateAcceptsPoolSettings: a DATABASE_URL that sizes the pool
// (pool_max_conns) works for migrations too, which open a connection of
// their own.
func TestMigrateAcceptsPoolSettings(t *testing.T) {
	url := pgtest.NewDatabase(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if _, _, err := migrations.Migrate(context.Background(), url+sep+"pool_max_conns=12"); err != nil {
		t.Fatal(err)
	}
}
