package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// SingleUseConfig configures RunSingleUse.
type SingleUseConfig struct {
	// New returns an empty-looking single-use store whose clock is Now.
	// Stores on a shared server may return a handle to the same server:
	// every subtest uses its own random values. Required.
	New func(t *testing.T) sessionstore.SingleUse
	// Now is the store's clock. Default time.Now.
	Now func() time.Time
	// Advance moves the store's clock forward. When nil, the expiry check
	// does not run: test expiry on the store's own clock yourself.
	Advance func(d time.Duration)
}

// RunSingleUse checks a [sessionstore.SingleUse] (the ones of the store
// backends, or an application's own): a value is used once and then
// repeated, per namespace and per issuer, until it expires; an already
// expired value is never remembered; of concurrent uses of one key exactly
// one is the first; a forgotten value is new again while others are kept;
// and a cancelled context fails.
func RunSingleUse(t *testing.T, cfg SingleUseConfig) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	run := func(name string) string { return "https://op.storetest.example/" + name }
	use := func(t *testing.T, c sessionstore.SingleUse, k sessionstore.Key, exp time.Time, want bool) {
		t.Helper()
		got, err := c.Use(t.Context(), k, exp)
		if err != nil || got != want {
			t.Errorf("Use(%+v) = %v, %v; want %v", k, got, err, want)
		}
	}
	key := func(ns sessionstore.Namespace, iss, id string) sessionstore.Key {
		return sessionstore.Key{Namespace: ns, Issuer: iss, ID: id}
	}
	const lt = sessionstore.LogoutTokens
	t.Run("Use", func(t *testing.T) {
		c := cfg.New(t)
		iss := run(t.Name() + randomSuffix())
		exp := now().Add(time.Minute)
		use(t, c, key(lt, iss, "jti-1"), exp, false)
		use(t, c, key(lt, iss, "jti-1"), exp, true)
		use(t, c, key(lt, iss+"/other", "jti-1"), exp, false)
		use(t, c, key(lt, iss+":jti", "-1"), exp, false) // no ambiguous concatenation
		use(t, c, key(lt, iss, "jti-2"), now(), false)   // already expired
		use(t, c, key(lt, iss, "jti-2"), now(), false)   // and not remembered
	})
	t.Run("Namespaces", func(t *testing.T) {
		c := cfg.New(t)
		iss := run(t.Name() + randomSuffix())
		exp := now().Add(time.Minute)
		for _, ns := range []sessionstore.Namespace{sessionstore.LogoutTokens, sessionstore.LoginStates, sessionstore.LogoutStates, "app:custom"} {
			use(t, c, key(ns, iss, "same-value"), exp, false)
			use(t, c, key(ns, iss, "same-value"), exp, true)
		}
		use(t, c, key("logout", iss, "-token:same-value"), exp, false) // no ambiguous concatenation
	})
	if cfg.Advance != nil {
		t.Run("Expiry", func(t *testing.T) {
			c := cfg.New(t)
			iss := run(t.Name() + randomSuffix())
			k := key(lt, iss, "jti")
			exp := now().Add(time.Minute)
			use(t, c, k, exp, false)
			cfg.Advance(time.Minute - time.Millisecond)
			use(t, c, k, exp, true)
			cfg.Advance(time.Millisecond)
			use(t, c, k, exp.Add(time.Minute), false)
			use(t, c, k, exp.Add(time.Minute), true)
		})
	}
	t.Run("Concurrent", func(t *testing.T) {
		c := cfg.New(t)
		k := key(lt, run(t.Name()+randomSuffix()), "jti")
		const n = 32
		var wg sync.WaitGroup
		var mu sync.Mutex
		first := 0
		start := make(chan struct{})
		exp := now().Add(time.Minute)
		for range n {
			wg.Go(func() {
				<-start
				used, err := c.Use(t.Context(), k, exp)
				if err != nil {
					t.Error(err)
					return
				}
				if !used {
					mu.Lock()
					first++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if first != 1 {
			t.Fatalf("%d of %d concurrent uses reported a first use, want exactly 1", first, n)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		c := cfg.New(t)
		k := key(lt, run(t.Name()+randomSuffix()), "jti")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Use(ctx, k, now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Use with a cancelled context = %v, want context.Canceled", err)
		}
		if err := c.Forget(ctx, k); !errors.Is(err, context.Canceled) {
			t.Fatalf("Forget with a cancelled context = %v, want context.Canceled", err)
		}
		use(t, c, k, now().Add(time.Minute), false)
	})
	t.Run("Forget", func(t *testing.T) {
		c := cfg.New(t)
		iss := run(t.Name() + randomSuffix())
		ctx := t.Context()
		exp := now().Add(time.Minute)
		use(t, c, key(lt, iss, "jti-1"), exp, false)
		use(t, c, key(lt, iss, "jti-2"), exp, false)
		use(t, c, key(sessionstore.LoginStates, iss, "jti-1"), exp, false)
		for _, k := range []sessionstore.Key{key(lt, iss, "jti-1"), key(lt, iss, "never-used"), key(lt, iss+"/other", "jti-2")} {
			if err := c.Forget(ctx, k); err != nil {
				t.Fatalf("Forget(%+v): %v", k, err)
			}
		}
		use(t, c, key(lt, iss, "jti-1"), exp, false)
		use(t, c, key(lt, iss, "jti-1"), exp, true)
		use(t, c, key(lt, iss, "jti-2"), exp, true)
		use(t, c, key(sessionstore.LoginStates, iss, "jti-1"), exp, true)
	})
}
