package redisstore_test

import (
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// TestReplayCache runs storetest's replay-cache conformance suite. Redis
// expires entries on its own clock, so the suite's fake-clock expiry step
// is replaced by TestReplayCacheExpiry.
func TestReplayCache(t *testing.T) {
	c := localClient(t)
	storetest.RunReplayCache(t, storetest.ReplayConfig{
		New: func(t *testing.T) logout.ReplayCache {
			rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c, Prefix: randomPrefix(t, c)})
			if err != nil {
				t.Fatal(err)
			}
			return rc
		},
	})
}

// TestReplayCacheExpiry lets an entry expire for real in Redis.
func TestReplayCacheExpiry(t *testing.T) {
	c := localClient(t)
	rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c, Prefix: randomPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(100 * time.Millisecond)
	if seen, err := rc.Seen(t.Context(), "iss", "jti", exp); err != nil || seen {
		t.Fatalf("first Seen = %v, %v", seen, err)
	}
	<-time.After(time.Until(exp.Add(50 * time.Millisecond))) // Redis expires keys on its own clock
	if seen, err := rc.Seen(t.Context(), "iss", "jti", time.Now().Add(time.Minute)); err != nil || seen {
		t.Fatalf("Seen after expiry = %v, %v; want false", seen, err)
	}
}

func TestNewReplayCacheRequiresClient(t *testing.T) {
	if _, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{}); err == nil {
		t.Fatal("NewReplayCache without a Client succeeded")
	}
}
