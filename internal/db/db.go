// Package db opens relator's connection pool: the one place that knows
// which types relator's connections must understand (pgvector's).
package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/relator/relator/migrations"
)

// Open migrates the database at url to the latest schema (a no-op when it is
// there already, safe with other processes doing the same) and returns a
// pool whose connections know pgvector's types.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	return OpenFor(ctx, url, 0)
}

// OpenFor is Open for a pass of concurrency analyses at once: each holds a
// connection while it searches and writes, and the claimer, the lease and
// run heartbeats and a scheduler's lock and /healthz need theirs, so the
// pool has at least concurrency + 4 connections.
func OpenFor(ctx context.Context, url string, concurrency int) (*pgxpool.Pool, error) {
	if _, _, err := migrations.Migrate(ctx, url); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// relator's queries are few and each reads much: its optional filters
	// ($n IS NULL OR …) and partial indexes need a plan made for the values
	// at hand, which a generic plan of a cached statement is not (a claim
	// took 250 ms instead of 4 ms once PostgreSQL switched to one).
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if need := int32(concurrency + 4); concurrency > 0 && cfg.MaxConns < need {
		cfg.MaxConns = need
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvec.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}
