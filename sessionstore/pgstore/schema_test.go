package pgstore_test

import (
	"context"
	"strings"
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
	err = pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_indexes WHERE tablename = $1`, table+"_logouts").Scan(&n)
	if err != nil || n != 2 { // primary key and the expires_at index
		t.Fatalf("indexes on %s_logouts = %d, %v; want 2", table, n, err)
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
		`CREATE TABLE IF NOT EXISTS "slo_sessions_logouts" (`,
		`CREATE INDEX IF NOT EXISTS "slo_sessions_logouts_expires_at_idx" ON "slo_sessions_logouts" (expires_at)`,
	} {
		if i >= len(stmts) || len(stmts[i]) < len(want) || stmts[i][:len(want)] != want {
			t.Errorf("statement %d = %q, want it to start with %q", i, stmts, want)
		}
	}
}

// TestSingleUseSchemaSQLDefault pins the SingleUse DDL shown in README.md.
func TestSingleUseSchemaSQLDefault(t *testing.T) {
	stmts, err := pgstore.SingleUseSchemaSQL("")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{
		`CREATE TABLE IF NOT EXISTS "slo_single_use" (`,
		`CREATE INDEX IF NOT EXISTS "slo_single_use_expires_at_idx" ON "slo_single_use" (expires_at)`,
	} {
		if i >= len(stmts) || !strings.HasPrefix(stmts[i], want) {
			t.Errorf("statement %d = %q, want it to start with %q", i, stmts, want)
		}
	}
	if len(stmts) != 2 {
		t.Errorf("%d statements, want 2", len(stmts))
	}
}
