package hydraop

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is the database Start connects to in order to create
// Hydra's; $PG_DSN overrides it (a URL).
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func adminDSN() string {
	if d := os.Getenv("PG_DSN"); d != "" {
		return d
	}
	return DefaultPostgres
}

// createDatabase creates an empty database for one Hydra, drops it when the
// test ends (after Hydra stopped: cleanups run last-in first-out), and
// returns its DSN.
func createDatabase(t testing.TB) string {
	t.Helper()
	base := adminDSN()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("hydraop: PG_DSN must be a postgres:// URL, got %q", base)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		missing(t, "PostgreSQL at %s unreachable: %v", base, err)
	}
	defer conn.Close(context.Background())
	name := "slo_hydra_" + strings.ToLower(rand.Text()[:12])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("hydraop: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("hydraop: dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("hydraop: dropping database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// missing skips the test, or fails it when CI=true.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("hydraop: "+format, args...)
	}
	t.Skipf("hydraop: "+format, args...)
}
