package memstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// DefaultMaxPerNamespace is how many values a [SingleUse] keeps per
// namespace when [SingleUseConfig].MaxPerNamespace is zero: room for every
// logout token of a mass logout of 200,000 sessions within a token's
// lifetime, in about 20 MB.
const DefaultMaxPerNamespace = 1 << 18

// SingleUseConfig configures a [SingleUse]. The zero value is ready to use.
type SingleUseConfig struct {
	// MaxPerNamespace bounds the values kept in each namespace. When a
	// namespace is full, its oldest value is forgotten to make room;
	// nothing is ever refused. Default DefaultMaxPerNamespace.
	MaxPerNamespace int
	// Now is the clock that decides expiry. Nil means time.Now.
	Now func() time.Time
}

// SingleUse is an in-memory [sessionstore.SingleUse]. It protects one
// process only: replicas behind a load balancer share the redisstore or
// pgstore one. It starts no goroutine and is safe for concurrent use.
//
// Each namespace has its own room and lock, so a flood of login states
// never forgets or delays a logout token id. Use, Forget and the
// reclaiming of expired values take constant time, amortized, however full
// the namespace is: values are kept in the order they were recorded, and
// expired values are dropped from the front of that order as new ones
// arrive. When a namespace is full, the value recorded first is forgotten;
// every value of a namespace lives about equally long (a logout token's jti
// until the verifier would refuse the token anyway, a state for the login
// timeout), so that is the one closest to expiry. A value costs about 70 to
// 100 bytes whatever its length: only a 128-bit digest of (issuer, value)
// is kept.
type SingleUse struct {
	max   int
	now   func() time.Time
	seeds [2]maphash.Seed

	mu     sync.Mutex
	spaces map[sessionstore.Namespace]*space
}

// NewSingleUse returns an empty SingleUse.
func NewSingleUse(cfg SingleUseConfig) *SingleUse {
	c := &SingleUse{
		max:    cfg.MaxPerNamespace,
		now:    cfg.Now,
		seeds:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		spaces: make(map[sessionstore.Namespace]*space),
	}
	if c.max <= 0 {
		c.max = DefaultMaxPerNamespace
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

var _ sessionstore.SingleUse = (*SingleUse)(nil)

// digest identifies a value within its namespace.
type digest [16]byte

// space is the values of one namespace.
type space struct {
	mu     sync.Mutex
	values *expiring[digest, struct{}]
}

// Use implements [sessionstore.SingleUse].
func (c *SingleUse) Use(ctx context.Context, k sessionstore.Key, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memstore: %w", err)
	}
	d := c.digest(k)
	now := c.now().UnixNano()
	exp := expires.UnixNano()
	sp := c.space(k.Namespace)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if _, ok := sp.values.get(d, now); ok {
		return true, nil
	}
	if exp > now {
		sp.values.set(d, struct{}{}, exp, now)
	}
	return false, nil
}

// Forget implements [sessionstore.SingleUse].
func (c *SingleUse) Forget(ctx context.Context, k sessionstore.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	d := c.digest(k)
	sp := c.space(k.Namespace)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.values.delete(d)
	return nil
}

// Len reports how many values are kept in every namespace together,
// including expired ones not yet dropped.
func (c *SingleUse) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, sp := range c.spaces {
		sp.mu.Lock()
		n += sp.values.len()
		sp.mu.Unlock()
	}
	return n
}

// space returns the values of namespace ns, making them on first use.
func (c *SingleUse) space(ns sessionstore.Namespace) *space {
	c.mu.Lock()
	defer c.mu.Unlock()
	sp := c.spaces[ns]
	if sp == nil {
		sp = &space{values: newExpiring[digest, struct{}](c.max)}
		c.spaces[ns] = sp
	}
	return sp
}

// digest hashes (issuer, id) under two independent seeds. The lengths go
// first, so that no two pairs hash the same input.
func (c *SingleUse) digest(k sessionstore.Key) digest {
	var d digest
	var n [2 * binary.MaxVarintLen64]byte
	l := binary.AppendUvarint(n[:0], uint64(len(k.Issuer)))
	l = binary.AppendUvarint(l, uint64(len(k.ID)))
	var h maphash.Hash
	for i, seed := range c.seeds {
		h.SetSeed(seed)
		h.Write(l)
		h.WriteString(k.Issuer)
		h.WriteString(k.ID)
		binary.LittleEndian.PutUint64(d[8*i:], h.Sum64())
	}
	return d
}
