package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CreateTemp creates an empty database named prefix + a random suffix on the
// server of serverURL and returns a connection string for it and a function
// that drops it (forcibly: connections still open to it are closed). with,
// if given, is appended to CREATE DATABASE (tests: "TEMPLATE template0
// LOCALE_PROVIDER icu …").
//
// serverURL may name its database in any form libpq knows — the URL's path,
// a dbname= parameter, a key=value connection string, PGDATABASE — and the
// returned string names the new database whatever the form: CreateTemp
// checks it as pgx parses it and then connects and asks the server, and
// refuses (dropping what it made) when the target is not the database it
// created, so nothing done through it can reach the operator's data.
func CreateTemp(ctx context.Context, serverURL, prefix string, with ...string) (string, func(context.Context) error, error) {
	if _, err := pgx.ParseConfig(serverURL); err != nil {
		return "", nil, fmt.Errorf("database url: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	target, err := withDatabase(serverURL, name)
	if err != nil {
		return "", nil, err
	}
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
	if err := isDatabase(ctx, target, name); err != nil {
		if derr := drop(context.WithoutCancel(ctx)); derr != nil {
			err = fmt.Errorf("%w; %w", err, derr)
		}
		return "", nil, err
	}
	return target, drop, nil
}

// withDatabase is conn with its database replaced by name, in conn's own
// form, checked as pgx reads it.
func withDatabase(conn, name string) (string, error) {
	var out string
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Del("dbname")   // libpq's spelling …
		q.Del("database") // … and pgx's: either would override the path
		u.RawQuery = q.Encode()
		u.Path, u.RawPath = "/"+name, ""
		out = u.String()
	} else {
		// A key=value string: the last of repeated keys wins, in libpq and
		// in pgx alike. name is the prefix and hex digits, quoted anyway.
		out = strings.TrimSpace(conn) + " dbname='" + name + "'"
	}
	cfg, err := pgx.ParseConfig(out)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	if cfg.Database != name {
		return "", fmt.Errorf("database url: cannot point it at the throwaway database %s (it names %q)", name, cfg.Database)
	}
	return out, nil
}

// isDatabase connects with conn and refuses unless the server says its
// database is name (a service file or a proxy could still reroute it).
func isDatabase(ctx context.Context, conn, name string) error {
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		return fmt.Errorf("connect to database %s: %w", name, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var got string
	if err := c.QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil {
		return fmt.Errorf("connect to database %s: %w", name, err)
	}
	if got != name {
		return fmt.Errorf("refusing to use database %q: the throwaway database is %s", got, name)
	}
	return nil
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
