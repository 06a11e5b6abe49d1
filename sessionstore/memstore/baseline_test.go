package memstore_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// plainStore is the obvious store memstore is written instead of: a Go map
// of sessions by id and a map of id sets per (issuer, sid) and per
// (issuer, subject), under one mutex. It is the baseline of
// BenchmarkBaseline, not a Store (no expiry, no Update).
type plainStore struct {
	mu    sync.Mutex
	byID  map[string]*sessionstore.Session
	bySID map[[2]string]map[string]struct{}
	bySub map[[2]string]map[string]struct{}
}

func newPlainStore() *plainStore {
	return &plainStore{
		byID:  map[string]*sessionstore.Session{},
		bySID: map[[2]string]map[string]struct{}{},
		bySub: map[[2]string]map[string]struct{}{},
	}
}

func (p *plainStore) create(s *sessionstore.Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byID[s.ID] = s.Clone()
	add := func(m map[[2]string]map[string]struct{}, k [2]string) {
		set := m[k]
		if set == nil {
			set = map[string]struct{}{}
			m[k] = set
		}
		set[s.ID] = struct{}{}
	}
	add(p.bySID, [2]string{s.Issuer, s.SID})
	add(p.bySub, [2]string{s.Issuer, s.Subject})
}

func (p *plainStore) deleteBySID(iss, sid string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{iss, sid}
	n := 0
	for id := range p.bySID[k] {
		s := p.byID[id]
		delete(p.byID, id)
		sub := [2]string{iss, s.Subject}
		delete(p.bySub[sub], id)
		if len(p.bySub[sub]) == 0 {
			delete(p.bySub, sub)
		}
		n++
	}
	delete(p.bySID, k)
	return n
}

// heapGrowth runs fill and returns how much the live heap grew.
func heapGrowth(fill func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc - before.HeapAlloc)
}

// BenchmarkBaseline measures memstore against plainStore, the obvious
// design, on 1M sessions without Data: memory per session (B/session-*),
// and the CPU time of DeleteBySID of random sessions (ns/del-*, batches
// interleaved in one run; every deleted session is re-created untimed).
// Run it with -benchtime=1x.
func BenchmarkBaseline(b *testing.B) {
	const n = 1_000_000
	now := time.Now()
	clock := func() time.Time { return now }
	ss := make([]*sessionstore.Session, n)
	for i := range ss {
		ss[i] = benchSession(i, now)
	}
	var mem *memstore.Store
	var plain *plainStore
	var memBytes, plainBytes float64
	var memTook, plainTook time.Duration
	var ops int
	var cpu threadClock
	for b.Loop() {
		memBytes = heapGrowth(func() {
			mem = memstore.New(memstore.Config{Now: clock})
			for _, s := range ss {
				if err := mem.Create(b.Context(), s); err != nil {
					b.Fatal(err)
				}
			}
		})
		plainBytes = heapGrowth(func() {
			plain = newPlainStore()
			for _, s := range ss {
				plain.create(s)
			}
		})
		rng := rand.New(rand.NewPCG(3, 4))
		const batch, batches = 100, 200
		perm := rng.Perm(n)
		for k := range batches {
			picked := make([]*sessionstore.Session, batch)
			for j := range picked {
				picked[j] = ss[perm[k*batch+j]]
			}
			cpu.lock()
			t0 := cpu.now()
			for _, s := range picked {
				if ended, err := mem.DeleteBySID(b.Context(), s.Issuer, s.SID); err != nil || len(ended) != 1 {
					b.Fatalf("memstore DeleteBySID = %d, %v", len(ended), err)
				}
			}
			memTook += cpu.now() - t0
			t0 = cpu.now()
			for _, s := range picked {
				if got := plain.deleteBySID(s.Issuer, s.SID); got != 1 {
					b.Fatalf("plain deleteBySID = %d", got)
				}
			}
			plainTook += cpu.now() - t0
			cpu.unlock()
			ops += batch
			for _, s := range picked {
				if err := mem.Create(b.Context(), s); err != nil {
					b.Fatal(err)
				}
				plain.create(s)
			}
		}
		runtime.KeepAlive(mem)
		runtime.KeepAlive(plain)
	}
	b.ReportMetric(memBytes/n, "B/session-memstore")
	b.ReportMetric(plainBytes/n, "B/session-plain")
	b.ReportMetric(float64(memTook.Nanoseconds())/float64(ops), "ns/del-memstore")
	b.ReportMetric(float64(plainTook.Nanoseconds())/float64(ops), "ns/del-plain")
}
