package memstore_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// bytesPerSession stores n sessions without Data and returns the heap
// growth per session, counting the store and the strings it retains.
func bytesPerSession(tb testing.TB, n int) float64 {
	now := time.Now()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	for i := range n {
		if err := s.Create(tb.Context(), benchSession(i, now)); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != n {
		tb.Fatalf("Len = %d, want %d", s.Len(), n)
	}
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// BenchmarkMemory reports the memory per stored session, excluding its
// Data, with 1M sessions (target: at most 400 bytes). Run it with
// -benchtime=1x.
func BenchmarkMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = bytesPerSession(b, 1_000_000)
	}
	b.ReportMetric(per, "B/session")
}
