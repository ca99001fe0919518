// Package migrations holds relator's schema as SQL files embedded in the
// binary and applies them with tern (github.com/jackc/tern/v2/migrate).
//
// tern is pgx's own migration library: it runs on the pgx connection relator
// already has, wraps each migration in a transaction, and holds a session
// advisory lock while it creates its version table and migrates, so any
// number of processes may call Migrate at once.
package migrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed sql/*.sql
var files embed.FS

// VersionTable records the applied schema version.
const VersionTable = "relator_schema_version"

// Migrate applies every migration not yet applied to the database at
// databaseURL and returns the schema version before and after.
func Migrate(ctx context.Context, databaseURL string) (from, to int32, err error) {
	// Parsed as the pool parses it, so that the pool's own settings in the
	// URL (pool_max_conns, …) are understood here too, not sent to the
	// server as unknown parameters.
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return 0, 0, fmt.Errorf("database url: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return 0, 0, fmt.Errorf("migrator: %w", err)
	}
	if err := Load(m); err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	from, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate: %w", err)
	}
	to, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return from, 0, fmt.Errorf("schema version: %w", err)
	}
	return from, to, nil
}

// Latest is the version Migrate brings a database to.
func Latest() (int32, error) {
	byNumber, err := numbered()
	if err != nil {
		return 0, err
	}
	return int32(len(byNumber)), nil
}
