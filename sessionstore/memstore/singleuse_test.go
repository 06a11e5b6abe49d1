package memstore_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

func TestSingleUseConformance(t *testing.T) {
	c := newClock()
	storetest.RunSingleUse(t, storetest.SingleUseConfig{
		New: func(*testing.T) sessionstore.SingleUse {
			return memstore.NewSingleUse(memstore.SingleUseConfig{Now: c.Now})
		},
		Now:     c.Now,
		Advance: c.Advance,
	})
}

func TestSingleUseConformanceSmall(t *testing.T) {
	// A room of one value per namespace still passes the contract: the
	// suite never needs two live values of one namespace at once except in
	// Use and Forget, which a room of 4 holds.
	c := newClock()
	storetest.RunSingleUse(t, storetest.SingleUseConfig{
		New: func(*testing.T) sessionstore.SingleUse {
			return memstore.NewSingleUse(memstore.SingleUseConfig{MaxPerNamespace: 4, Now: c.Now})
		},
		Now:     c.Now,
		Advance: c.Advance,
	})
}

func use(t *testing.T, c *memstore.SingleUse, ns sessionstore.Namespace, id string, exp time.Time) bool {
	t.Helper()
	used, err := c.Use(t.Context(), sessionstore.Key{Namespace: ns, Issuer: "https://op.example", ID: id}, exp)
	if err != nil {
		t.Fatalf("Use(%s, %s): %v", ns, id, err)
	}
	return used
}

// TestSingleUseFullNeverRefuses (B-38, B-34): a full namespace forgets its
// oldest value to make room, never refuses a new one, and a flood in one
// namespace forgets nothing in another.
func TestSingleUseFullNeverRefuses(t *testing.T) {
	clk := newClock()
	const room = 1000
	c := memstore.NewSingleUse(memstore.SingleUseConfig{MaxPerNamespace: room, Now: clk.Now})
	exp := clk.Now().Add(time.Hour)
	for i := range room {
		if use(t, c, sessionstore.LogoutTokens, "jti-"+strconv.Itoa(i), exp) {
			t.Fatalf("jti-%d reported used on first use", i)
		}
	}
	// A flood of login states, ten times the room.
	for i := range 10 * room {
		if use(t, c, sessionstore.LoginStates, "state-"+strconv.Itoa(i), exp) {
			t.Fatalf("state-%d reported used on first use", i)
		}
	}
	for i := range room {
		if !use(t, c, sessionstore.LogoutTokens, "jti-"+strconv.Itoa(i), exp) {
			t.Fatalf("jti-%d forgotten after a flood of login states", i)
		}
	}
	// The states kept are the newest.
	if !use(t, c, sessionstore.LoginStates, "state-"+strconv.Itoa(10*room-1), exp) {
		t.Error("the newest state was forgotten")
	}
	if use(t, c, sessionstore.LoginStates, "state-0", exp) {
		t.Error("the oldest state was kept although the namespace overflowed")
	}
	// A full namespace of logout tokens takes new ones too.
	for i := room; i < 3*room; i++ {
		if use(t, c, sessionstore.LogoutTokens, "jti-"+strconv.Itoa(i), exp) {
			t.Fatalf("jti-%d reported used on first use", i)
		}
	}
	if n := c.Len(); n > 2*room {
		t.Errorf("Len = %d, want at most %d (two namespaces of %d)", n, 2*room, room)
	}
}

// TestSingleUseReclaimsExpired: expired values are dropped as new ones come,
// without a full namespace, so memory follows the live values.
func TestSingleUseReclaimsExpired(t *testing.T) {
	clk := newClock()
	c := memstore.NewSingleUse(memstore.SingleUseConfig{Now: clk.Now})
	for i := range 10_000 {
		use(t, c, sessionstore.LogoutTokens, "jti-"+strconv.Itoa(i), clk.Now().Add(time.Second))
		clk.Advance(time.Millisecond)
	}
	// About a second's worth (1,000 values) is live; the rest was dropped.
	if n := c.Len(); n > 1100 {
		t.Errorf("Len = %d after 10 s of values that live 1 s, want about 1,000", n)
	}
	// Forgotten values leave no trace that grows.
	for i := range 10_000 {
		k := sessionstore.Key{Namespace: sessionstore.LoginStates, ID: "s" + strconv.Itoa(i)}
		if _, err := c.Use(t.Context(), k, clk.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := c.Forget(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n > 1100 {
		t.Errorf("Len = %d after using and forgetting 10,000 states, want at most about 1,000", n)
	}
}

// BenchmarkSingleUseMassLogout (B-38) records 200,000 distinct logout token
// ids, as a mass logout sends them within a token's lifetime, and reports
// the cost per Use of the last 10,000 against the first 10,000
// (x-last-vs-first, target ≤ 1.5) and the memory per value kept
// (B/value).
func BenchmarkSingleUseMassLogout(b *testing.B) {
	const n, window = 200_000, 10_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("jti-%08d-%s", i, "3f9c2a7e-5b1d-4c8e-9a6f")
	}
	iss := "https://op.example.com/realms/tenant"
	var first, last time.Duration
	var perValue float64
	for b.Loop() {
		clk := newClock()
		c := memstore.NewSingleUse(memstore.SingleUseConfig{Now: clk.Now})
		exp := clk.Now().Add(6 * time.Minute)
		before := heapInUse()
		start := time.Now()
		for i, id := range ids {
			if i == window {
				first += time.Since(start)
			}
			if i == n-window {
				start = time.Now()
			}
			used, err := c.Use(b.Context(), sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: iss, ID: id}, exp)
			if err != nil || used {
				b.Fatalf("Use(%s) = %v, %v", id, used, err)
			}
		}
		last += time.Since(start)
		perValue = float64(heapInUse()-before) / n
		if c.Len() != n {
			b.Fatalf("Len = %d, want %d", c.Len(), n)
		}
	}
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N*window), "ns/use-first-10k")
	b.ReportMetric(float64(last.Nanoseconds())/float64(b.N*window), "ns/use-last-10k")
	b.ReportMetric(float64(last)/float64(first), "x-last-vs-first")
	b.ReportMetric(perValue, "B/value")
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
