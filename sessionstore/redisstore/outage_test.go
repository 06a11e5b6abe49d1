package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
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
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := st.Get(ctx, a.ID); return err }},
		{"Create", func(ctx context.Context) error { return st.Create(ctx, sess("c")) }},
		{"Update", func(ctx context.Context) error { return st.Update(ctx, a) }},
		{"Delete", func(ctx context.Context) error { _, err := st.Delete(ctx, a.ID); return err }},
		{"DeleteBySID", func(ctx context.Context) error { _, err := st.DeleteBySID(ctx, a.Issuer, a.SID); return err }},
		{"DeleteBySubject", func(ctx context.Context) error {
			_, err := st.DeleteBySubject(ctx, a.Issuer, a.Subject)
			return err
		}},
		{"DeleteBySIDAndSubject", func(ctx context.Context) error {
			_, err := st.DeleteBySIDAndSubject(ctx, a.Issuer, a.SID, a.Subject)
			if errors.Is(err, sessionstore.ErrSubjectMismatch) {
				return nil // not a connection error
			}
			return err
		}},
		{"Seen", func(ctx context.Context) error {
			_, err := rc.Seen(ctx, a.Issuer, "jti", now.Add(time.Hour))
			return err
		}},
		{"Forget", func(ctx context.Context) error { return rc.Forget(ctx, a.Issuer, "jti") }},
	}
	for _, tc := range calls {
		err := tc.call(ctx)
		if err == nil || errors.Is(err, sessionstore.ErrNotFound) || errors.Is(err, sessionstore.ErrExists) {
			t.Errorf("%s with Redis down = %v, want a connection error", tc.name, err)
		}
	}

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
