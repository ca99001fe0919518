package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relator/relator/internal/db"
	"github.com/relator/relator/internal/pgtest"
)

// Whatever form the operator's connection string takes, the throwaway
// database's string reaches the throwaway database and nothing else.
func TestCreateTempNeverTargetsTheOperatorsDatabase(t *testing.T) {
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		t.Fatal(err)
	}
	real := cfg.Database
	base := fmt.Sprintf("postgres://%s@%s:%d", cfg.User, cfg.Host, cfg.Port)
	kv := fmt.Sprintf("host=%s port=%d user=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User)
	for _, tc := range []struct{ name, conn, pgdatabase string }{
		{"path", base + "/" + real + "?sslmode=disable", ""},
		{"dbname parameter", base + "/?dbname=" + real + "&sslmode=disable", ""},
		{"database parameter", base + "/other?database=" + real + "&sslmode=disable", ""},
		{"path and dbname parameter", base + "/" + real + "?sslmode=disable&dbname=" + real, ""},
		{"key=value", kv + " dbname=" + real, ""},
		{"key=value, quoted", kv + " dbname = '" + real + "'", ""},
		{"PGDATABASE, URL", base + "?sslmode=disable", real},
		{"PGDATABASE, key=value", kv, real},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.pgdatabase != "" {
				t.Setenv("PGDATABASE", tc.pgdatabase)
			}
			conn, drop, err := db.CreateTemp(ctx, tc.conn, "relator_test_")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := drop(ctx); err != nil {
					t.Error(err)
				}
			}()
			c, err := pgx.Connect(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			var got string
			if err := c.QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got == real || !strings.HasPrefix(got, "relator_test_") {
				t.Fatalf("%s reaches database %q, not a throwaway one", db.Redact(conn), got)
			}
		})
	}
}

func TestIsDatabaseRefusesAnotherDatabase(t *testing.T) {
	server := pgtest.ServerURL(t)
	err := db.IsDatabase(context.Background(), server, "relator_test_elsewhere")
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@h:5432/d?sslmode=disable":     "postgres://u:xxxxx@h:5432/d?sslmode=disable",
		"postgres://u@h/d?password=s3cret&sslmode=disable": "postgres://u@h/d?password=xxxxx&sslmode=disable",
		"host=h user=u password=s3cret dbname=d":           "host=h user=u password=xxxxx dbname=d",
		"host=h user=u password = 's3 c\\'ret' dbname=d":   "host=h user=u password = xxxxx dbname=d",
		"postgres://u@h/d": "postgres://u@h/d",
	} {
		if got := db.Redact(in); got != want || strings.Contains(got, "s3") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
