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
// table, and the logout table CreateSchema makes beside it, when the test
// ends.
func tempTable(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	name := "slo_test_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() { dropTables(t, pool, name) })
	return name
}

// dropTables drops the table name and its logout table.
func dropTables(t testing.TB, pool *pgxpool.Pool, name string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgxIdent(name)+", "+pgxIdent(name+"_logouts"))
	if err != nil {
		t.Errorf("dropping %s: %v", name, err)
	}
}

func pgxIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
