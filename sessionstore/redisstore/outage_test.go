package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// TestOutage stops the Redis server under a store: every method must fail
// with an error (never a silent not-found or zero count, never a panic), and
// once the server is back on the same port the same store and client work
// again.
func TestOutage(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr(), MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second,
	})
	t.Cleanup(func() { c.Close() })
	st := newStore(t, redisstore.Config{Client: c})
	used, err := redisstore.NewSingleUse(redisstore.SingleUseConfig{Client: c})
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

	jti := sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: a.Issuer, ID: "jti"}
	srv.Stop()
	storetest.Unavailable(t, st, a,
		storetest.Call{Name: "Use", Call: func(ctx context.Context) error {
			_, err := used.Use(ctx, jti, now.Add(time.Hour))
			return err
		}},
		storetest.Call{Name: "Use of an expired key", Call: func(ctx context.Context) error {
			_, err := used.Use(ctx, jti, now.Add(-time.Hour))
			return err
		}},
		storetest.Call{Name: "Forget", Call: func(ctx context.Context) error { return used.Forget(ctx, jti) }},
	)

	srv.Restart() // same port, empty data set (no persistence)
	if err := st.Create(ctx, a); err != nil {
		t.Fatalf("Create after restart: %v", err)
	}
	if got, err := st.Get(ctx, a.ID); err != nil || got.ID != a.ID {
		t.Fatalf("Get after restart = %v, %v", got, err)
	}
	if ended, err := st.DeleteBySubject(ctx, a.Issuer, a.Subject); err != nil || len(ended) != 1 {
		t.Fatalf("DeleteBySubject after restart = %d sessions, %v; want 1", len(ended), err)
	}
	if u, err := used.Use(ctx, jti, now.Add(time.Hour)); err != nil || u {
		t.Fatalf("Use after restart = %v, %v; want false", u, err)
	}
	l := sessionstore.Logout{Issuer: a.Issuer, SID: a.SID, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.RecordLogout(ctx, l); err != nil {
		t.Fatalf("RecordLogout after restart: %v", err)
	}
	if r, _, err := st.LastLogout(ctx, a.Issuer, a.SID, ""); err != nil || !r.Equal(now) {
		t.Fatalf("LastLogout after restart = %v, %v; want %v", r, err, now)
	}
}
