//go:build !race

package memstore_test

import "testing"

// TestMemoryPerSession holds the store to its memory budget of 400 bytes
// per session (excluding Data) with 1M sessions. The race detector inflates
// memory, so it runs only without it.
func TestMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 1M sessions; skipped with -short")
	}
	const budget = 400
	per := bytesPerSession(t, 1_000_000)
	t.Logf("%.0f B/session with 1M sessions", per)
	if per > budget {
		t.Errorf("%.0f bytes per session, budget %d", per, budget)
	}
}
