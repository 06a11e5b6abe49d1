package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
)

// TestSentinel runs the conformance suites (Store and SingleUse) through a
// Sentinel failover client: the client asks a Sentinel for the master and
// the store works on it as on a single node.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, "slo", master)
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "slo", SentinelAddrs: []string{sentinel.Addr()}})
	t.Cleanup(func() { c.Close() })
	// The client found the master through the Sentinel.
	if err := c.Set(t.Context(), "probe", "through-sentinel", 0).Err(); err != nil {
		t.Fatalf("SET through the Sentinel: %v", err)
	}
	if got, err := redistest.Do(master.Addr(), "GET", "probe"); err != nil || got != "through-sentinel" {
		t.Fatalf("GET probe on the master = %q, %v", got, err)
	}
	runStoretest(t, c)
	runSingleUse(t, c)
}
