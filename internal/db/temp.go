package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// CreateTemp creates an empty database named prefix + a random suffix on the
// server of serverURL and returns its URL and a function that drops it
// (forcibly: connections still open to it are closed). with, if given, is
// appended to CREATE DATABASE (tests: "TEMPLATE template0 LOCALE_PROVIDER icu …").
func CreateTemp(ctx context.Context, serverURL, prefix string, with ...string) (string, func(context.Context) error, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("database url: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()

	create := "CREATE DATABASE " + ident
	for _, w := range with {
		create += " " + w
	}
	if err := exec(ctx, serverURL, create); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func(ctx context.Context) error {
		if err := exec(ctx, serverURL, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func exec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
