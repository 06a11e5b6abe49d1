package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/oidc-slo/slo/sessionstore/pgstore"
)

// TestCreateSchemaConcurrent: replicas starting together may all create the
// schema at once.
func TestCreateSchemaConcurrent(t *testing.T) {
	pool := testPool(t)
	table := tempTable(t, pool)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := pgstore.CreateSchema(t.Context(), pool, table); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var n int
	err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_indexes WHERE tablename = $1`, table).Scan(&n)
	if err != nil || n != 4 { // primary key and three indexes
		t.Fatalf("indexes on %s = %d, %v; want 4", table, n, err)
	}
}

// TestSchemaSQLDefault pins the DDL shown in README.md.
func TestSchemaSQLDefault(t *testing.T) {
	stmts, err := pgstore.SchemaSQL("")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		`CREATE TABLE IF NOT EXISTS "slo_sessions" (`,
		`CREATE INDEX IF NOT EXISTS "slo_sessions_issuer_sid_idx" ON "slo_sessions" (issuer, sid) WHERE sid <> ''`,
		`CREATE INDEX IF NOT EXISTS "slo_sessions_issuer_subject_idx" ON "slo_sessions" (issuer, subject)`,
		`CREATE INDEX IF NOT EXISTS "slo_sessions_expires_at_idx" ON "slo_sessions" (expires_at)`,
	} {
		if i >= len(stmts) || len(stmts[i]) < len(want) || stmts[i][:len(want)] != want {
			t.Errorf("statement %d = %q, want it to start with %q", i, stmts, want)
		}
	}
}
