package pgstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore/pgstore"
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

func TestReplayCache(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	rc := newReplayCache(t, clock.Now)
	ctx := t.Context()
	exp := clock.Now().Add(time.Minute)
	steps := []struct {
		name    string
		advance time.Duration
		iss, id string
		expires time.Time
		want    bool
	}{
		{"first use", 0, "https://op.example", "jti-1", exp, false},
		{"replay", 0, "https://op.example", "jti-1", exp, true},
		{"other issuer", 0, "https://op.example/other", "jti-1", exp, false},
		{"already expired", 0, "https://op.example", "jti-2", clock.Now(), false},
		{"replay just before exp", time.Minute - time.Millisecond, "https://op.example", "jti-1", exp, true},
		{"after exp, a new entry", time.Millisecond, "https://op.example", "jti-1", exp.Add(time.Minute), false},
		{"and that one is remembered", 0, "https://op.example", "jti-1", exp.Add(time.Minute), true},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		got, err := rc.Seen(ctx, s.iss, s.id, s.expires)
		if err != nil || got != s.want {
			t.Errorf("%s: Seen(%q, %q) = %v, %v; want %v", s.name, s.iss, s.id, got, err, s.want)
		}
	}
	clock.Advance(time.Hour)
	if n, err := rc.DeleteExpired(ctx); err != nil || n != 2 {
		t.Errorf("DeleteExpired = %d, %v; want 2", n, err)
	}
}

// TestReplayCacheConcurrent: of many concurrent calls with the same pair,
// exactly one reports false.
func TestReplayCacheConcurrent(t *testing.T) {
	rc := newReplayCache(t, nil)
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	start := make(chan struct{})
	exp := time.Now().Add(time.Minute)
	for range n {
		wg.Go(func() {
			<-start
			seen, err := rc.Seen(t.Context(), "https://op.example", "jti", exp)
			if err != nil {
				t.Error(err)
				return
			}
			if !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d of %d concurrent Seen calls reported false, want exactly 1", fresh, n)
	}
}

// TestReplayCacheForget: a forgotten pair is new again; others are kept.
func TestReplayCacheForget(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	rc := newReplayCache(t, clock.Now)
	ctx := t.Context()
	exp := clock.Now().Add(time.Minute)
	for _, id := range []string{"jti-1", "jti-2"} {
		if seen, err := rc.Seen(ctx, "https://op.example", id, exp); err != nil || seen {
			t.Fatalf("Seen(%q) = %v, %v; want false", id, seen, err)
		}
	}
	if err := rc.Forget(ctx, "https://op.example", "jti-1"); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if err := rc.Forget(ctx, "https://op.example", "never-seen"); err != nil {
		t.Fatalf("Forget of a missing pair: %v", err)
	}
	if err := rc.Forget(ctx, "https://op.example/other", "jti-2"); err != nil {
		t.Fatalf("Forget at another issuer: %v", err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{"jti-1", false}, {"jti-1", true}, {"jti-2", true}} {
		if seen, err := rc.Seen(ctx, "https://op.example", tc.id, exp); err != nil || seen != tc.want {
			t.Errorf("Seen(%q) after Forget = %v, %v; want %v", tc.id, seen, err, tc.want)
		}
	}
}

func TestNewReplayCacheConfig(t *testing.T) {
	if _, err := pgstore.NewReplayCache(pgstore.ReplayCacheConfig{}); err == nil {
		t.Fatal("NewReplayCache without a Pool succeeded")
	}
}
