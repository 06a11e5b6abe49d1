package memstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// Now is the store's clock; it is called without locks held, so it
	// must be safe for concurrent use. Nil means time.Now.
	Now func() time.Time
}

// Store is an in-memory [sessionstore.Store]. It is safe for concurrent use
// and starts no goroutine: expired sessions are never returned and are
// reclaimed a few at a time by later writes. Its sessions live only as long
// as the process and are not shared with other replicas.
//
// Get, Create, Update, Delete and, per ended session, DeleteBySID and
// DeleteBySubject run in constant time apart from O(log n) upkeep of the
// expiry queue. Times are kept with nanosecond precision and must lie
// between the years 1678 and 2262; they are returned in UTC.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	byID    map[string]*record
	issuers issuers
	expiry  expiryQueue
}

// New returns an empty Store.
func New(cfg Config) *Store {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, byID: make(map[string]*record), issuers: issuers{seed: maphash.MakeSeed()}}
}

// reclaimPerWrite is how many expired sessions each write reclaims at most.
// Each write adds at most one session, so a value above one lets reclaiming
// keep up with any write rate while bounding the work of a single call.
const reclaimPerWrite = 2

var _ sessionstore.Store = (*Store)(nil)

// Len reports how many sessions the store holds, including expired ones not
// yet reclaimed.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

// Get implements [sessionstore.Store].
func (s *Store) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	now := s.now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.byID[id]
	if r == nil || r.expires <= now {
		return nil, sessionstore.ErrNotFound
	}
	return r.session(s.issuers.name(r.iss)), nil
}

// Create implements [sessionstore.Store]. A session that is already expired
// is accepted and dropped at once.
func (s *Store) Create(ctx context.Context, in *sessionstore.Session) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if in == nil || in.ID == "" {
		return errors.New("memstore: Create needs a session with an ID")
	}
	created, expires, err := encodeTimes(in)
	if err != nil {
		return err
	}
	data := copyData(in.Data)
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	if old := s.byID[in.ID]; old != nil {
		if old.expires > now {
			return sessionstore.ErrExists
		}
		s.remove(old)
	}
	if expires <= now {
		return nil
	}
	r := newRecord(in, data, created, expires)
	r.iss = s.issuers.acquire(in.Issuer)
	s.byID[r.id] = r
	s.issuers.link(r)
	s.expiry.push(r)
	return nil
}

// Update implements [sessionstore.Store]. It refuses to change a session's
// Issuer, Subject or SID.
func (s *Store) Update(ctx context.Context, in *sessionstore.Session) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if in == nil {
		return errors.New("memstore: Update needs a session")
	}
	created, expires, err := encodeTimes(in)
	if err != nil {
		return err
	}
	data := copyData(in.Data)
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	r := s.byID[in.ID]
	if r == nil || r.expires <= now {
		return sessionstore.ErrNotFound
	}
	if in.Issuer != s.issuers.name(r.iss) || in.Subject != r.keys[bySubject] || in.SID != r.keys[bySID] {
		return errors.New("memstore: Update cannot change a session's Issuer, Subject or SID")
	}
	r.data, r.created = data, created
	if expires <= now {
		s.remove(r)
		return nil
	}
	if expires != r.expires {
		r.expires = expires
		s.expiry.fix(r)
	}
	return nil
}

// Delete implements [sessionstore.Store].
func (s *Store) Delete(ctx context.Context, id string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: %w", err)
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	r := s.byID[id]
	if r == nil {
		return 0, nil
	}
	s.remove(r)
	if r.expires <= now {
		return 0, nil
	}
	return 1, nil
}

// DeleteBySID implements [sessionstore.Store].
func (s *Store) DeleteBySID(ctx context.Context, issuer, sid string) (int, error) {
	return s.deleteList(ctx, issuer, sid, bySID)
}

// DeleteBySubject implements [sessionstore.Store].
func (s *Store) DeleteBySubject(ctx context.Context, issuer, subject string) (int, error) {
	return s.deleteList(ctx, issuer, subject, bySubject)
}

// deleteList removes every session on one index list and counts the live
// ones among them.
func (s *Store) deleteList(ctx context.Context, issuer, key string, ix index) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: %w", err)
	}
	if key == "" {
		return 0, nil
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	return s.deleteListLocked(issuer, key, ix, now), nil
}

// deleteListLocked is deleteList for a caller that holds s.mu.
func (s *Store) deleteListLocked(issuer, key string, ix index, now int64) int {
	n := 0
	for r := s.issuers.head(issuer, key, ix); r != nil; {
		next := r.next[ix]
		if r.keys[ix] == key { // the list may hold other keys with the same hash
			if r.expires > now {
				n++
			}
			s.remove(r)
		}
		r = next
	}
	return n
}

// remove unlinks r from every structure. The caller holds s.mu.
func (s *Store) remove(r *record) {
	delete(s.byID, r.id)
	s.issuers.unlink(r)
	s.expiry.remove(r)
	s.issuers.release(r.iss)
}

// reclaim removes up to reclaimPerWrite sessions that expired at or before
// now. The caller holds s.mu.
func (s *Store) reclaim(now int64) {
	for range reclaimPerWrite {
		r := s.expiry.min()
		if r == nil || r.expires > now {
			return
		}
		s.remove(r)
	}
}
