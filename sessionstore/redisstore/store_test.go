package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// runStoretest runs the conformance suite against c, once with an injected
// clock and once on the wall clock (where Redis TTLs really expire keys).
func runStoretest(t *testing.T, c redis.UniversalClient) {
	t.Run("FakeClock", func(t *testing.T) {
		clock := storetest.NewClock(time.Now())
		prefix := randomPrefix(t, c)
		storetest.Run(t, storetest.Config{
			New: func(t *testing.T) sessionstore.Store {
				return newStore(t, redisstore.Config{Client: c, Prefix: prefix, Now: clock.Now})
			},
			Now:     clock.Now,
			Advance: clock.Advance,
		})
	})
	t.Run("WallClock", func(t *testing.T) {
		prefix := randomPrefix(t, c)
		storetest.Run(t, storetest.Config{
			New: func(t *testing.T) sessionstore.Store {
				return newStore(t, redisstore.Config{Client: c, Prefix: prefix})
			},
		})
	})
}

func newStore(t testing.TB, cfg redisstore.Config) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(cfg)
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	runStoretest(t, localClient(t))
}

func TestNewRequiresClient(t *testing.T) {
	if _, err := redisstore.New(redisstore.Config{}); err == nil {
		t.Fatal("New without a Client succeeded")
	}
}
