package memstore_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

const benchIssuer = "https://login.example.com/realms/main"

// benchSession returns a realistic session number i without Data: its id is
// a base64url SHA-256 like middleware.SessionID (43 bytes), its sid a UUID
// (36 bytes) and its subject a 20-byte user id. Every session has its own
// sid and subject, the worst case for the indexes.
func benchSession(i int, now time.Time) *sessionstore.Session {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(i))
	sum := sha256.Sum256(n[:])
	return &sessionstore.Session{
		ID:      base64.RawURLEncoding.EncodeToString(sum[:]),
		Issuer:  benchIssuer,
		Subject: fmt.Sprintf("user-%015d", i),
		SID: fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
			sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		CreatedAt: now,
		ExpiresAt: now.Add(12 * time.Hour),
	}
}

// fill returns a store holding n sessions, and those sessions.
func fill(tb testing.TB, n int, now func() time.Time) (*memstore.Store, []*sessionstore.Session) {
	s := memstore.New(memstore.Config{Now: now})
	ss := make([]*sessionstore.Session, n)
	for i := range ss {
		ss[i] = benchSession(i, now())
		if err := s.Create(tb.Context(), ss[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return s, ss
}

// BenchmarkDeleteBySID ends one session by (issuer, sid) in a store of 1k
// and in one of 1M sessions, in the same run, and reports the ratio of the
// two per-operation times (target: at most 2), timed in thread CPU time.
//
// Each timed batch ends 100 distinct sessions, re-created untimed after the
// batch. The sids passed are copied beforehand into fresh memory, as a sid
// parsed from a logout token would be, so that the timing does not include
// fetching the benchmark's own 1M inputs from memory. Two ratios are
// reported:
//
//   - x-1M-vs-1k: random sessions of each store. At 1M sessions nearly every
//     memory access misses the caches and the TLB, while the 1k store stays
//     in cache; this measures the memory hierarchy as much as the store.
//   - x-1M-vs-1k-hot: the same 100 sessions every batch, so that both
//     stores run from cache; this isolates the work per operation and shows
//     it does not grow with the number of stored sessions.
//
// x-map-1M-vs-1k calibrates the first: the same ratio for a bare random
// lookup in a map[uint64]*T of 1k and of 1M entries, measured alongside
// (ns/map-1k, ns/map-1M); x-1M-vs-1k-per-map divides the first ratio by it,
// so that 1 means the store slows down with size no more than a single map
// lookup does.
//
// x-floor is the ratio the store would have if ending a session at 1M cost
// only the two memory accesses that must follow one another: the sid's
// index slot, then the record it names (whose key is compared). It is
// ns/del-1k plus the extra time of that bare two-step chain at 1M over 1k
// (ns/chain-1M, ns/chain-1k), measured alongside on arrays of the store's
// own sizes and under a mutex as in the store, over ns/del-1k.
// x-floor+slots does the same for the chain plus the two other index slots
// a delete must clear (the session's id and subject entries), read
// alongside the record as the store does (ns/chain+slots-1k, -1M).
//
// Ending a session leaves a stale entry in the expiry queue, which is
// compacted in one pass once stale entries outnumber live ones. The 1k
// store pays for that within the run; the 1M store, whose compaction costs
// about 50 to 75 ns per removal, amortized, usually does not.
func BenchmarkDeleteBySID(b *testing.B) {
	now := time.Now()
	clock := func() time.Time { return now }
	ctx := b.Context()
	var cpu threadClock
	type side struct {
		store *memstore.Store
		ss    []*sessionstore.Session
		perm  []int
		next  int
		took  time.Duration
		hot   time.Duration
		ops   int
		m     map[uint64]*sessionstore.Session
		keys  []uint64
		mtook time.Duration
		chain *chain
		ctook time.Duration
		atook time.Duration
	}
	small, big := &side{}, &side{}
	small.store, small.ss = fill(b, 1_000, clock)
	big.store, big.ss = fill(b, 1_000_000, clock)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sd := range []*side{small, big} {
		sd.perm = rng.Perm(len(sd.ss))
		sd.m = make(map[uint64]*sessionstore.Session, len(sd.ss))
		for _, s := range sd.ss {
			k := rng.Uint64()
			sd.m[k] = s
			sd.keys = append(sd.keys, k)
		}
		sd.chain = newChain(len(sd.ss), rng)
	}
	const batch = 100
	sids := make([]string, batch)
	keys := make([]uint64, batch)
	var buf []byte
	// prepare copies the sids of the picked sessions into one fresh string,
	// so that the timed calls find their argument in cache, like a sid just
	// parsed from a logout token, whatever the number of sessions.
	prepare := func(sd *side, picked []int) {
		buf = buf[:0]
		for _, i := range picked {
			buf = append(buf, sd.ss[i].SID...)
		}
		all, at := string(buf), 0
		for j, i := range picked {
			n := len(sd.ss[i].SID)
			sids[j], at = all[at:at+n], at+n
			keys[j] = sd.keys[i]
		}
	}
	del := func(sd *side, picked []int) time.Duration {
		prepare(sd, picked)
		start := cpu.now()
		for _, sid := range sids {
			if ended, err := sd.store.DeleteBySID(ctx, benchIssuer, sid); len(ended) != 1 || err != nil {
				b.Fatalf("DeleteBySID = %d sessions, %v", len(ended), err)
			}
		}
		took := cpu.now() - start
		for _, i := range picked {
			if err := sd.store.Create(ctx, sd.ss[i]); err != nil {
				b.Fatal(err)
			}
		}
		return took
	}
	var sink int
	run := func(sd *side) {
		if sd.next+batch > len(sd.perm) {
			sd.next = 0
		}
		picked := sd.perm[sd.next : sd.next+batch]
		sd.next += batch
		sd.took += del(sd, picked)
		sd.hot += del(sd, sd.perm[:batch])
		sd.ops += batch
		prepare(sd, picked)
		start := cpu.now()
		for _, k := range keys {
			if sd.m[k] != nil {
				sink++
			}
		}
		sd.mtook += cpu.now() - start
		prepare(sd, picked)
		start = cpu.now()
		for _, sid := range sids {
			sink += sd.chain.follow(sid)
		}
		sd.ctook += cpu.now() - start
		// Other sessions than the chain's, so that it does not find them
		// in cache.
		prepare(sd, sd.perm[len(sd.perm)-sd.next:][:batch])
		start = cpu.now()
		for _, sid := range sids {
			sink += sd.chain.followAll(sid)
		}
		sd.atook += cpu.now() - start
	}
	cpu.lock()
	defer cpu.unlock()
	for b.Loop() {
		run(small)
		run(big)
	}
	per := func(d time.Duration, sd *side) float64 { return float64(d.Nanoseconds()) / float64(sd.ops) }
	b.ReportMetric(per(small.took, small), "ns/del-1k")
	b.ReportMetric(per(big.took, big), "ns/del-1M")
	b.ReportMetric(per(big.took, big)/per(small.took, small), "x-1M-vs-1k")
	b.ReportMetric(per(big.hot, big)/per(small.hot, small), "x-1M-vs-1k-hot")
	b.ReportMetric(per(small.mtook, small), "ns/map-1k")
	b.ReportMetric(per(big.mtook, big), "ns/map-1M")
	mapRatio := per(big.mtook, big) / per(small.mtook, small)
	b.ReportMetric(mapRatio, "x-map-1M-vs-1k")
	b.ReportMetric(per(big.took, big)/per(small.took, small)/mapRatio, "x-1M-vs-1k-per-map")
	b.ReportMetric(per(small.ctook, small), "ns/chain-1k")
	b.ReportMetric(per(big.ctook, big), "ns/chain-1M")
	b.ReportMetric((per(small.took, small)+per(big.ctook, big)-per(small.ctook, small))/per(small.took, small), "x-floor")
	b.ReportMetric(per(small.atook, small), "ns/chain+slots-1k")
	b.ReportMetric(per(big.atook, big), "ns/chain+slots-1M")
	b.ReportMetric((per(small.took, small)+per(big.atook, big)-per(small.atook, small))/per(small.took, small), "x-floor+slots")
	if sink == 0 {
		b.Fatal("no lookups")
	}
}

// chain is the bare two-step access of a delete by sid, for x-floor: a
// table of index slots as large as the store's for n sessions (three keys
// per session, at most half full, a power of two), and n records of the
// store's record size, the key at the record's key offset.
type chain struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots []chainSlot
	recs  []chainRecord
}

// chainSlot has the size of the store's index slot: a tag (blank here), the
// record number, and the positions of the record's two other index slots,
// as the store's slot carries their tags.
type chainSlot struct {
	_      uint32
	ref    uint32
	others [2]uint32
}

// chainRecord has the size of the store's record, with key at the offset
// of the record's key; the blank fields stand for the rest of the record.
type chainRecord struct {
	_   [80]byte
	key [120]byte
	_   [8]byte
}

func newChain(n int, rng *rand.Rand) *chain {
	c := &chain{seed: maphash.MakeSeed(), recs: make([]chainRecord, n)}
	size := 1
	for size < 6*n {
		size *= 2
	}
	c.slots = make([]chainSlot, size)
	for i := range c.slots {
		c.slots[i].ref = uint32(rng.IntN(n))
		c.slots[i].others = [2]uint32{uint32(rng.IntN(size)), uint32(rng.IntN(size))}
	}
	return c
}

// followAll is follow plus what a delete must also touch: the record's two
// other index slots (its id's and its subject's), whose positions the sid's
// slot gives, so that they are fetched alongside the record rather than
// after it. It returns 1 on a match.
func (c *chain) followAll(sid string) int {
	h := maphash.String(c.seed, sid)
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.slots[h&uint64(len(c.slots)-1)]
	a, b := &c.slots[v.others[0]], &c.slots[v.others[1]]
	if r := &c.recs[v.ref]; string(r.key[:len(sid)]) == sid && a.ref|b.ref != 1<<32-1 {
		return 1
	}
	return 0
}

// follow hashes sid, reads its slot, then compares sid with the key of the
// record the slot names, under c.mu; it returns 1 on a match.
func (c *chain) follow(sid string) int {
	h := maphash.String(c.seed, sid)
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.slots[h&uint64(len(c.slots)-1)]
	if r := &c.recs[v.ref]; string(r.key[:len(sid)]) == sid {
		return 1
	}
	return 0
}

// BenchmarkGet reads random sessions from a store of 1M.
func BenchmarkGet(b *testing.B) {
	now := time.Now()
	s, ss := fill(b, 1_000_000, func() time.Time { return now })
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := s.Get(ctx, ss[rng.IntN(len(ss))].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreate creates sessions in a steady state of about 100k live
// ones: the clock advances 1µs per Create and sessions live 100ms, so each
// Create also reclaims about one expired session.
func BenchmarkCreate(b *testing.B) {
	now := time.Now()
	s := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	ctx := b.Context()
	pool := make([]*sessionstore.Session, 1<<20)
	for i := range pool {
		pool[i] = benchSession(i, now)
	}
	i := 0
	for b.Loop() {
		in := pool[i&(len(pool)-1)]
		in.CreatedAt, in.ExpiresAt = now, now.Add(100*time.Millisecond)
		if err := s.Create(ctx, in); err != nil {
			b.Fatal(err)
		}
		now = now.Add(time.Microsecond)
		i++
	}
	b.ReportMetric(float64(s.Len()), "sessions")
}

// BenchmarkStore runs storetest's Get, Create and DeleteBySID benchmarks,
// the ones the Redis and PostgreSQL stores report too.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) sessionstore.Store { return memstore.New(memstore.Config{}) })
}
