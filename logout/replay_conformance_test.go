package logout_test

import (
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// TestMemoryReplayCacheConformance runs storetest's replay-cache suite on
// both in-memory caches.
func TestMemoryReplayCacheConformance(t *testing.T) {
	for name, mk := range map[string]func(int, func() time.Time) *logout.MemoryReplayCache{
		"refusing": logout.NewMemoryReplayCache,
		"evicting": logout.NewEvictingMemoryReplayCache,
	} {
		t.Run(name, func(t *testing.T) {
			clk := storetest.NewClock(time.Now())
			storetest.RunReplayCache(t, storetest.ReplayConfig{
				New:     func(*testing.T) logout.ReplayCache { return mk(0, clk.Now) },
				Now:     clk.Now,
				Advance: clk.Advance,
			})
		})
	}
}
