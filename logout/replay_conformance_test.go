package logout_test

import (
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

type replayClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *replayClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *replayClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestMemoryReplayCacheConformance runs storetest's replay-cache suite on
// both in-memory caches.
func TestMemoryReplayCacheConformance(t *testing.T) {
	for name, mk := range map[string]func(int, func() time.Time) *logout.MemoryReplayCache{
		"refusing": logout.NewMemoryReplayCache,
		"evicting": logout.NewEvictingMemoryReplayCache,
	} {
		t.Run(name, func(t *testing.T) {
			clk := &replayClock{now: time.Now()}
			storetest.RunReplayCache(t, storetest.ReplayConfig{
				New:     func(*testing.T) logout.ReplayCache { return mk(0, clk.Now) },
				Now:     clk.Now,
				Advance: clk.Advance,
			})
		})
	}
}
