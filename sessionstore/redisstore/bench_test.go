package redisstore_test

import (
	"testing"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// BenchmarkStore runs storetest's Get, Create and DeleteBySID benchmarks
// against the local Redis server.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) sessionstore.Store {
		c := localClient(b)
		return newStore(b, redisstore.Config{Client: c, Prefix: randomPrefix(b, c)})
	})
}
