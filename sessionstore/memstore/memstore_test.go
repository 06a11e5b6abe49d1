package memstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// clock is a manual clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestStoreConformance(t *testing.T) {
	c := newClock()
	storetest.Run(t, storetest.Config{
		New:     func(*testing.T) sessionstore.Store { return memstore.New(memstore.Config{Now: c.Now}) },
		Now:     c.Now,
		Advance: c.Advance,
	})
}

func TestStoreConformanceWallClock(t *testing.T) {
	storetest.Run(t, storetest.Config{
		New: func(*testing.T) sessionstore.Store { return memstore.New(memstore.Config{}) },
	})
}
