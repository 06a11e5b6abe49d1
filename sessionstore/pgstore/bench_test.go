package pgstore_test

import (
	"testing"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// BenchmarkStore runs storetest's Get, Create and DeleteBySID benchmarks
// against the local PostgreSQL server, in a table of its own.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) sessionstore.Store {
		pool := testPool(b)
		table := tempTable(b, pool)
		if err := pgstore.CreateSchema(b.Context(), pool, table); err != nil {
			b.Fatal(err)
		}
		return newStore(b, pgstore.Config{Pool: pool, Table: table})
	})
}
