package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
)

// ReplayConfig configures RunReplayCache.
type ReplayConfig struct {
	// New returns an empty, isolated replay cache whose clock is Now.
	// Required.
	New func(t *testing.T) logout.ReplayCache
	// Now is the cache's clock. Default time.Now.
	Now func() time.Time
	// Advance moves the cache's clock forward. When nil, the expiry check
	// does not run: test expiry on the cache's own clock yourself.
	Advance func(d time.Duration)
}

// RunReplayCache checks a [logout.ReplayCache] (the shared caches of the
// store backends, or an application's own): an id is new once and seen
// after, per issuer, until it expires; an already expired entry is never
// remembered; of concurrent calls with one pair exactly one reports new;
// a cancelled context fails; and, if the cache implements
// [logout.ReplayForgetter], a forgotten pair is new again while others are
// kept (the subtest skips for a cache that does not).
func RunReplayCache(t *testing.T, cfg ReplayConfig) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	const iss = "https://op.example"
	seen := func(t *testing.T, c logout.ReplayCache, iss, id string, exp time.Time, want bool) {
		t.Helper()
		got, err := c.Seen(t.Context(), iss, id, exp)
		if err != nil || got != want {
			t.Errorf("Seen(%q, %q) = %v, %v; want %v", iss, id, got, err, want)
		}
	}
	t.Run("Seen", func(t *testing.T) {
		c := cfg.New(t)
		exp := now().Add(time.Minute)
		seen(t, c, iss, "jti-1", exp, false)
		seen(t, c, iss, "jti-1", exp, true)
		seen(t, c, iss+"/other", "jti-1", exp, false)
		seen(t, c, iss+":jti", "-1", exp, false) // no ambiguous concatenation
		seen(t, c, iss, "jti-2", now(), false)   // already expired
		seen(t, c, iss, "jti-2", now(), false)   // and not remembered
	})
	if cfg.Advance != nil {
		t.Run("Expiry", func(t *testing.T) {
			c := cfg.New(t)
			exp := now().Add(time.Minute)
			seen(t, c, iss, "jti", exp, false)
			cfg.Advance(time.Minute - time.Millisecond)
			seen(t, c, iss, "jti", exp, true)
			cfg.Advance(time.Millisecond)
			seen(t, c, iss, "jti", exp.Add(time.Minute), false)
			seen(t, c, iss, "jti", exp.Add(time.Minute), true)
		})
	}
	t.Run("Concurrent", func(t *testing.T) {
		c := cfg.New(t)
		const n = 32
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		start := make(chan struct{})
		exp := now().Add(time.Minute)
		for range n {
			wg.Go(func() {
				<-start
				s, err := c.Seen(t.Context(), iss, "jti", exp)
				if err != nil {
					t.Error(err)
					return
				}
				if !s {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d of %d concurrent Seen calls reported new, want exactly 1", fresh, n)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		c := cfg.New(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Seen(ctx, iss, "jti", now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Seen with a cancelled context = %v, want context.Canceled", err)
		}
		seen(t, c, iss, "jti", now().Add(time.Minute), false)
	})
	t.Run("Forget", func(t *testing.T) {
		c := cfg.New(t)
		f, ok := c.(logout.ReplayForgetter)
		if !ok {
			t.Skip("storetest: the cache does not implement logout.ReplayForgetter")
		}
		ctx := t.Context()
		exp := now().Add(time.Minute)
		seen(t, c, iss, "jti-1", exp, false)
		seen(t, c, iss, "jti-2", exp, false)
		for _, p := range [][2]string{{iss, "jti-1"}, {iss, "never-seen"}, {iss + "/other", "jti-2"}} {
			if err := f.Forget(ctx, p[0], p[1]); err != nil {
				t.Fatalf("Forget(%q, %q): %v", p[0], p[1], err)
			}
		}
		seen(t, c, iss, "jti-1", exp, false)
		seen(t, c, iss, "jti-1", exp, true)
		seen(t, c, iss, "jti-2", exp, true)
	})
}
