package pgstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// skipOrFail skips the test for a missing service, or fails it in CI.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// dsn is the test database; PG_DSN overrides.
func dsn() string {
	if d := os.Getenv("PG_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// testPool connects to the test database.
func testPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn())
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(t.Context()); err != nil {
		skipOrFail(t, "PostgreSQL at %s unreachable: %v", dsn(), err)
	}
	return pool
}

// tempTable returns a table name unique to this test run and drops the
// table when the test ends.
func tempTable(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	name := "slo_test_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return name
}

func pgxIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
