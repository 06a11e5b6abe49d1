package logout

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers (issuer, jti) pairs of logout tokens until they
// expire, so that a token cannot be used twice. Implementations must be safe
// for concurrent use and must make Seen atomic: of two concurrent calls with
// the same pair, exactly one reports false.
//
// The Redis implementation lives in the redisstore module, the PostgreSQL
// one in pgstore.
type ReplayCache interface {
	// Seen records (issuer, id) until expires and reports whether it was
	// already recorded and not yet expired.
	Seen(ctx context.Context, issuer, id string, expires time.Time) (bool, error)
}

// ErrReplayCacheFull is returned by a [MemoryReplayCache] that holds its
// maximum number of live entries.
var ErrReplayCacheFull = errors.New("logout: replay cache full")

// MemoryReplayCache is an in-process [ReplayCache] with bounded memory. It
// starts no goroutine: expired entries are reclaimed as new ones arrive. It
// only protects one process; replicas need a shared cache.
type MemoryReplayCache struct {
	max   int
	evict bool // forget the oldest entry when full instead of failing
	now   func() time.Time

	mu      sync.Mutex
	seq     uint64                    // numbers insertions
	entries map[replayKey]replayValue // live or expired-but-not-reclaimed pairs
	order   []replayEntry             // insertion log; stale records are dropped by reclaim
}

type replayKey struct{ issuer, id string }

type replayValue struct {
	expires time.Time
	seq     uint64
}

// replayEntry is one record of the insertion log. It is current only while
// entries[key].seq == seq, so a pair that was forgotten and recorded again
// never has two current records.
type replayEntry struct {
	key replayKey
	seq uint64
}

// DefaultReplayCacheSize is the number of live entries a MemoryReplayCache
// holds when created with a size of zero.
const DefaultReplayCacheSize = 100_000

// NewMemoryReplayCache returns a MemoryReplayCache holding at most max live
// entries (DefaultReplayCacheSize if max <= 0). When it is full, Seen fails
// with ErrReplayCacheFull rather than forgetting an entry that has not
// expired. now is the clock (nil means time.Now).
func NewMemoryReplayCache(max int, now func() time.Time) *MemoryReplayCache {
	if max <= 0 {
		max = DefaultReplayCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{max: max, now: now, entries: make(map[replayKey]replayValue)}
}

// NewEvictingMemoryReplayCache is like NewMemoryReplayCache, except that when
// the cache is full, Seen forgets the oldest entry instead of failing. Use it
// where a flood of entries must not turn into refusals and forgetting an
// entry early is acceptable, as for single-use login states (whose replay
// still fails at the OP, where authorization codes are single-use). A cache
// of logout token ids must refuse instead: use NewMemoryReplayCache.
func NewEvictingMemoryReplayCache(max int, now func() time.Time) *MemoryReplayCache {
	c := NewMemoryReplayCache(max, now)
	c.evict = true
	return c
}

// Seen implements [ReplayCache].
func (c *MemoryReplayCache) Seen(ctx context.Context, issuer, id string, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := c.now()
	k := replayKey{issuer, id}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok && now.Before(e.expires) {
		return true, nil
	}
	if len(c.entries) >= c.max {
		c.dropFront(now)
	}
	if len(c.entries) >= c.max {
		c.reclaim(now)
		if len(c.entries) >= c.max {
			return false, ErrReplayCacheFull
		}
	}
	if !now.Before(expires) {
		// Already expired: nothing to remember, and not seen.
		return false, nil
	}
	c.seq++
	c.entries[k] = replayValue{expires, c.seq}
	c.order = append(c.order, replayEntry{k, c.seq})
	if len(c.order) > 2*c.max {
		c.reclaim(now)
	}
	return false, nil
}

// dropFront drops records from the front of the insertion log while they
// are stale or expired, and, in an evicting cache, the oldest current entry
// if the cache is still full. It touches only the front of the log, so a
// full cache costs O(1) amortised per call instead of a full reclaim.
func (c *MemoryReplayCache) dropFront(now time.Time) {
	for len(c.order) > 0 && len(c.entries) >= c.max {
		e := c.order[0]
		v, ok := c.entries[e.key]
		switch {
		case !ok || v.seq != e.seq:
			// stale record
		case !now.Before(v.expires) || c.evict:
			delete(c.entries, e.key)
		default:
			return // the oldest live entry stays: the cache is full
		}
		c.order[0] = replayEntry{}
		c.order = c.order[1:]
	}
}

// reclaim drops every expired entry. It is O(n) but runs only when the cache
// is full or its log has grown to twice the bound.
func (c *MemoryReplayCache) reclaim(now time.Time) {
	kept := c.order[:0]
	for _, e := range c.order {
		v, ok := c.entries[e.key]
		switch {
		case !ok || v.seq != e.seq:
			// superseded or already removed
		case !now.Before(v.expires):
			delete(c.entries, e.key)
		default:
			kept = append(kept, e)
		}
	}
	clear(c.order[len(kept):])
	c.order = kept
}

// ReplayForgetter is implemented by a [ReplayCache] that can drop a pair it
// recorded. The [BackChannelHandler] uses it, when available, to forget a
// token whose sessions could not be ended (a store failure answered with
// 400), so that the OP's retry of the same token is not refused as a replay.
type ReplayForgetter interface {
	// Forget removes (issuer, id). Forgetting a missing pair succeeds.
	Forget(ctx context.Context, issuer, id string) error
}

// Forget implements [ReplayForgetter].
func (c *MemoryReplayCache) Forget(ctx context.Context, issuer, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The entry's record in order is dropped by the next reclaim, which
	// skips records whose key is gone.
	delete(c.entries, replayKey{issuer, id})
	return nil
}

// Len reports how many entries the cache holds, expired or not.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
