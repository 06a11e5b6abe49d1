package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// TestOutage stops the Redis server under a store: every method must fail
// with an error (never a silent not-found or zero count, never a panic), and
// once the server is back on the same port the same store and client work
// again.
func TestOutage(t *testing.T) {
	srv := startServer(t, t.TempDir())
	c := redis.NewClient(&redis.Options{
		Addr: srv.addr(), MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second,
	})
	t.Cleanup(func() { c.Close() })
	st := newStore(t, redisstore.Config{Client: c})
	rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Now()
	sess := func(id string) *sessionstore.Session {
		return &sessionstore.Session{ID: id, Issuer: "https://op.example", Subject: "alice", SID: "sid-" + id,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	a, b := sess("a"), sess("b")
	for _, s := range []*sessionstore.Session{a, b} {
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	srv.stop()
	storetest.Unavailable(t, st, a,
		storetest.Call{Name: "Seen", Call: func(ctx context.Context) error {
			_, err := rc.Seen(ctx, a.Issuer, "jti", now.Add(time.Hour))
			return err
		}},
		storetest.Call{Name: "Forget", Call: func(ctx context.Context) error { return rc.Forget(ctx, a.Issuer, "jti") }},
	)

	srv.start() // same port, empty data set (no persistence)
	if err := st.Create(ctx, a); err != nil {
		t.Fatalf("Create after restart: %v", err)
	}
	if got, err := st.Get(ctx, a.ID); err != nil || got.ID != a.ID {
		t.Fatalf("Get after restart = %v, %v", got, err)
	}
	if n, err := st.DeleteBySubject(ctx, a.Issuer, a.Subject); err != nil || n != 1 {
		t.Fatalf("DeleteBySubject after restart = %d, %v; want 1", n, err)
	}
	if seen, err := rc.Seen(ctx, a.Issuer, "jti", now.Add(time.Hour)); err != nil || seen {
		t.Fatalf("Seen after restart = %v, %v; want false", seen, err)
	}
}
