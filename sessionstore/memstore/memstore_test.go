package memstore_test

import (
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// newClock returns a test clock at a fixed time with milliseconds.
func newClock() *storetest.Clock {
	return storetest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC))
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
