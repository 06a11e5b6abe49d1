package redisstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

func TestReplayCache(t *testing.T) {
	c := localClient(t)
	clock := &fakeClock{t: time.Now()}
	rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c, Prefix: randomPrefix(t, c), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := clock.Now().Add(time.Minute)
	steps := []struct {
		name    string
		iss, id string
		expires time.Time
		want    bool
	}{
		{"first use", "https://op.example", "jti-1", exp, false},
		{"replay", "https://op.example", "jti-1", exp, true},
		{"other issuer", "https://op.example/other", "jti-1", exp, false},
		{"concatenation", "https://op.example:jti", "-1", exp, false},
		{"already expired", "https://op.example", "jti-2", clock.Now(), false},
		{"already expired, again", "https://op.example", "jti-2", clock.Now(), false},
	}
	for _, s := range steps {
		got, err := rc.Seen(ctx, s.iss, s.id, s.expires)
		if err != nil || got != s.want {
			t.Errorf("%s: Seen(%q, %q) = %v, %v; want %v", s.name, s.iss, s.id, got, err, s.want)
		}
	}
}

// TestReplayCacheForget: a forgotten pair is new again; others are kept.
func TestReplayCacheForget(t *testing.T) {
	c := localClient(t)
	rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c, Prefix: randomPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
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

// TestReplayCacheConcurrent: of many concurrent calls with the same pair,
// exactly one reports false.
func TestReplayCacheConcurrent(t *testing.T) {
	c := localClient(t)
	rc, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{Client: c, Prefix: randomPrefix(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			seen, err := rc.Seen(t.Context(), "https://op.example", "jti", time.Now().Add(time.Minute))
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

func TestNewReplayCacheRequiresClient(t *testing.T) {
	if _, err := redisstore.NewReplayCache(redisstore.ReplayCacheConfig{}); err == nil {
		t.Fatal("NewReplayCache without a Client succeeded")
	}
}
