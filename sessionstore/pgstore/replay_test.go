package pgstore_test

import (
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

func newReplayCache(t *testing.T, now func() time.Time) *pgstore.ReplayCache {
	t.Helper()
	pool := testPool(t)
	table := tempTable(t, pool)
	if err := pgstore.CreateReplaySchema(t.Context(), pool, table); err != nil {
		t.Fatal(err)
	}
	rc, err := pgstore.NewReplayCache(pgstore.ReplayCacheConfig{Pool: pool, Table: table, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestReplayCache runs storetest's replay-cache conformance suite.
func TestReplayCache(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	storetest.RunReplayCache(t, storetest.ReplayConfig{
		New:     func(t *testing.T) logout.ReplayCache { return newReplayCache(t, clock.Now) },
		Now:     clock.Now,
		Advance: clock.Advance,
	})
}

// TestReplayCacheDeleteExpired: expired entries are removed on request.
func TestReplayCacheDeleteExpired(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	rc := newReplayCache(t, clock.Now)
	ctx := t.Context()
	for _, id := range []string{"jti-1", "jti-2"} {
		if seen, err := rc.Seen(ctx, "https://op.example", id, clock.Now().Add(time.Minute)); err != nil || seen {
			t.Fatalf("Seen(%q) = %v, %v", id, seen, err)
		}
	}
	if seen, err := rc.Seen(ctx, "https://op.example", "jti-3", clock.Now().Add(2*time.Hour)); err != nil || seen {
		t.Fatalf("Seen(jti-3) = %v, %v", seen, err)
	}
	clock.Advance(time.Hour)
	if n, err := rc.DeleteExpired(ctx); err != nil || n != 2 {
		t.Errorf("DeleteExpired = %d, %v; want 2", n, err)
	}
	if seen, err := rc.Seen(ctx, "https://op.example", "jti-3", clock.Now().Add(time.Hour)); err != nil || !seen {
		t.Errorf("the live entry was deleted: %v, %v", seen, err)
	}
}

func TestNewReplayCacheConfig(t *testing.T) {
	if _, err := pgstore.NewReplayCache(pgstore.ReplayCacheConfig{}); err == nil {
		t.Fatal("NewReplayCache without a Pool succeeded")
	}
}
