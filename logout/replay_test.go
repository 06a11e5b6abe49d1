package logout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for the replay cache.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(testNow.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestMemoryReplayCacheSeen(t *testing.T) {
	clk := newFakeClock()
	c := NewMemoryReplayCache(10, clk.now)
	ctx := t.Context()
	exp := clk.now().Add(time.Minute)

	steps := []struct {
		name     string
		iss, id  string
		expires  time.Time
		advance  time.Duration
		wantSeen bool
	}{
		{"new", issA, "j1", exp, 0, false},
		{"again", issA, "j1", exp, 0, true},
		{"other issuer, same id", issB, "j1", exp, 0, false},
		{"other id", issA, "j2", exp, 0, false},
		{"just before expiry", issA, "j1", exp, 59 * time.Second, true},
		{"at expiry: forgotten and recorded anew", issA, "j1", exp.Add(time.Minute), time.Second, false},
		{"recorded anew", issA, "j1", exp.Add(time.Minute), 0, true},
		{"already expired: not recorded", issA, "j3", clk.now().Add(time.Minute), 0, false},
		{"already expired, again: still not seen", issA, "j3", clk.now().Add(time.Minute), 0, false},
	}
	for _, st := range steps {
		clk.advance(st.advance)
		seen, err := c.Seen(ctx, st.iss, st.id, st.expires)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if seen != st.wantSeen {
			t.Errorf("%s: seen = %v, want %v", st.name, seen, st.wantSeen)
		}
	}
}

func TestMemoryReplayCacheBounded(t *testing.T) {
	clk := newFakeClock()
	const max = 100
	c := NewMemoryReplayCache(max, clk.now)
	ctx := t.Context()
	for i := range max {
		if _, err := c.Seen(ctx, issA, fmt.Sprint(i), clk.now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Full of live entries: refuse rather than forget one.
	if _, err := c.Seen(ctx, issA, "overflow", clk.now().Add(time.Minute)); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("err = %v, want ErrReplayCacheFull", err)
	}
	// A live entry is still reported as seen when the cache is full.
	if seen, err := c.Seen(ctx, issA, "0", clk.now().Add(time.Minute)); err != nil || !seen {
		t.Fatalf("seen, err = %v, %v; want true, nil", seen, err)
	}
	// Once they expire, new entries fit again and memory stays bounded over
	// many generations.
	for gen := range 50 {
		clk.advance(2 * time.Minute)
		for i := range max {
			seen, err := c.Seen(ctx, issA, fmt.Sprintf("g%d-%d", gen, i), clk.now().Add(time.Minute))
			if err != nil || seen {
				t.Fatalf("gen %d entry %d: %v, %v", gen, i, seen, err)
			}
		}
		c.mu.Lock()
		n, o := len(c.entries), len(c.order)
		c.mu.Unlock()
		if n > max || o > 2*max+1 {
			t.Fatalf("gen %d: %d entries, %d log records; bounds %d, %d", gen, n, o, max, 2*max+1)
		}
	}
}

func TestMemoryReplayCacheForget(t *testing.T) {
	clk := newFakeClock()
	const max = 8
	c := NewMemoryReplayCache(max, clk.now)
	ctx := t.Context()
	exp := clk.now().Add(time.Minute)
	// Forgetting and recording the same pair over and over must not grow
	// the insertion log without bound.
	for i := range 10 * max {
		if seen, err := c.Seen(ctx, issA, "j", exp); err != nil || seen {
			t.Fatalf("round %d: seen, err = %v, %v", i, seen, err)
		}
		if err := c.Forget(ctx, issA, "j"); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	o := len(c.order)
	c.mu.Unlock()
	if o > 2*max+1 {
		t.Errorf("log grew to %d records", o)
	}
	if err := c.Forget(ctx, issA, "missing"); err != nil {
		t.Errorf("Forget(missing) = %v", err)
	}
	var _ ReplayForgetter = c
}

func TestMemoryReplayCacheContext(t *testing.T) {
	c := NewMemoryReplayCache(0, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Seen(ctx, issA, "j", time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Errorf("Seen err = %v, want context.Canceled", err)
	}
	if err := c.Forget(ctx, issA, "j"); !errors.Is(err, context.Canceled) {
		t.Errorf("Forget err = %v, want context.Canceled", err)
	}
	if c.Len() != 0 {
		t.Errorf("Len = %d after cancelled calls", c.Len())
	}
}

// TestMemoryReplayCacheAtomic: of many concurrent calls with the same pair,
// exactly one reports false. Run with -race.
func TestMemoryReplayCacheAtomic(t *testing.T) {
	c := NewMemoryReplayCache(1000, nil)
	const workers = 32
	for round := range 20 {
		id := fmt.Sprint("jti-", round)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range workers {
			wg.Go(func() {
				<-start
				seen, err := c.Seen(t.Context(), issA, id, time.Now().Add(time.Hour))
				if err != nil {
					t.Error(err)
				}
				if !seen {
					fresh.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := fresh.Load(); n != 1 {
			t.Fatalf("round %d: %d callers saw the pair as new, want 1", round, n)
		}
	}
}

func BenchmarkMemoryReplayCache(b *testing.B) {
	c := NewMemoryReplayCache(1<<16, nil)
	ctx := b.Context()
	exp := time.Now().Add(time.Hour)
	ids := make([]string, 1<<15)
	for i := range ids {
		ids[i] = fmt.Sprint("jti-", i)
	}
	i := 0
	for b.Loop() {
		_, _ = c.Seen(ctx, issA, ids[i%len(ids)], exp)
		i++
	}
}

func TestEvictingMemoryReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	ctx := t.Context()
	exp := now.Add(time.Hour)

	refusing := NewMemoryReplayCache(3, clock)
	evicting := NewEvictingMemoryReplayCache(3, clock)
	for _, id := range []string{"a", "b", "c"} {
		for _, c := range []*MemoryReplayCache{refusing, evicting} {
			if seen, err := c.Seen(ctx, "iss", id, exp); seen || err != nil {
				t.Fatalf("Seen(%s) = %v, %v", id, seen, err)
			}
		}
	}
	if _, err := refusing.Seen(ctx, "iss", "d", exp); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("full refusing cache: %v, want ErrReplayCacheFull", err)
	}
	if seen, err := evicting.Seen(ctx, "iss", "d", exp); seen || err != nil {
		t.Fatalf("full evicting cache: %v, %v; want a fresh entry", seen, err)
	}
	if evicting.Len() != 3 {
		t.Fatalf("evicting cache holds %d entries, want 3", evicting.Len())
	}
	// The oldest entry was forgotten, the others are still remembered.
	for id, want := range map[string]bool{"b": true, "c": true, "d": true} {
		if seen, _ := evicting.Seen(ctx, "iss", id, exp); seen != want {
			t.Errorf("Seen(%s) after eviction = %v, want %v", id, seen, want)
		}
	}
	if seen, _ := evicting.Seen(ctx, "iss", "a", exp); seen {
		t.Error("the evicted entry is still remembered")
	}
}
