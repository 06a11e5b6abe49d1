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
// Get, Update, Delete and, per ended session, DeleteBySID and
// DeleteBySubject run in constant amortized time: ending a session leaves
// the expiry queue alone. Create adds to the queue in O(log n), and each
// write reclaims a few entries of it in O(log n). Times are kept with
// nanosecond precision and must lie between the years 1678 and 2262; they
// are returned in UTC.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	recs    slab
	index   index
	issuers issuers
	expiry  expiryQueue

	// logout records, under their own lock (see RecordLogout)
	logoutMu sync.Mutex
	logouts  *expiring[logoutKey, logoutTimes]
}

// New returns an empty Store.
func New(cfg Config) *Store {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, index: index{seed: maphash.MakeSeed()}}
}

// reclaimPerWrite is how many entries of the expiry queue each write handles
// at most. Each write adds at most one session, so a value above one lets
// reclaiming keep up with any write rate while bounding the work of a
// single call.
const reclaimPerWrite = 3

var _ sessionstore.Store = (*Store)(nil)

// Len reports how many sessions the store holds, including expired ones not
// yet reclaimed.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.recs.used
}

// lookup returns the position of the index slot of key and the slot, or -1
// and an empty slot. For kindSID and kindSub the slot names the first
// record of the list of (iss, key). With touch, it starts fetching the
// record's other two slots before it reads the record, for a caller that is
// about to remove it.
func (s *Store) lookup(k kind, iss uint32, key string, touch bool) (int, slot) {
	x := &s.index
	if x.n == 0 {
		return -1, slot{}
	}
	tag := x.tagString(k, iss, key)
	t := x.shard(tag)
	if t.n == 0 {
		return -1, slot{}
	}
	mask := len(t.slots) - 1
	for i := t.home(tag); ; i = (i + 1) & mask {
		v := t.slots[i]
		if v.ref == 0 {
			return -1, slot{}
		}
		if v.tag != tag {
			continue
		}
		if touch {
			x.touch(v.tags)
		}
		if r := s.recs.at(v.ref); r.keyIs(k, key) && (k == kindID || r.iss == iss) {
			return i, v
		}
	}
}

// Get implements [sessionstore.Store].
func (s *Store) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	now := s.now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, v := s.lookup(kindID, 0, id, false)
	if v.ref == 0 {
		return nil, sessionstore.ErrNotFound
	}
	r := s.recs.at(v.ref)
	if r.expires <= now {
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
	if uint64(len(in.ID))+uint64(len(in.SID))+uint64(len(in.Subject)) > 1<<32-1 {
		return errKeyLen
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
	if _, old := s.lookup(kindID, 0, in.ID, false); old.ref != 0 {
		if s.recs.at(old.ref).expires > now {
			return sessionstore.ErrExists
		}
		s.remove(old.ref, old.all())
	}
	if expires <= now {
		return nil
	}
	y := s.recs.alloc()
	if y == 0 {
		return errors.New("memstore: store full")
	}
	r := s.recs.at(y)
	r.set(in, data, created, expires)
	r.iss = s.issuers.acquire(in.Issuer)
	keys := [kinds]string{in.ID, in.SID, in.Subject}
	for k := kindID; k <= kindSub; k++ {
		if keys[k-1] != "" {
			r.tags[k-1] = s.index.tagString(k, s.issuerOf(k, r), keys[k-1])
		}
	}
	for k := kindID; k <= kindSub; k++ {
		if keys[k-1] != "" {
			s.link(y, k, keys[k-1])
		}
	}
	s.expiry.push(expiryEntry{expires: expires, ref: y, gen: r.gen})
	return nil
}

// issuerOf returns the issuer number that k's tags of r are made with.
func (s *Store) issuerOf(k kind, r *record) uint32 {
	if k == kindID {
		return 0
	}
	return r.iss
}

// link adds record y, whose tags are set, to index k under key: for
// kindSID and kindSub at the front of its list.
func (s *Store) link(y ref, k kind, key string) {
	r := s.recs.at(y)
	if k != kindID {
		if i, head := s.lookup(k, r.iss, key, false); head.ref != 0 {
			l := k.list()
			r.next[l] = head.ref
			s.recs.at(head.ref).prev[l] = y
			s.index.shard(head.tag).slots[i] = newSlot(k, y, r.tags)
			return
		}
	}
	s.index.insert(newSlot(k, y, r.tags))
}

// remove takes record y, whose tags are given, off every index and frees
// it, which makes its expiry entry stale. It finds the index slots from the
// tags alone, so that a caller that has the tags from an index slot lets
// their fetching overlap with that of the record. The caller holds s.mu.
func (s *Store) remove(y ref, tags [kinds]uint32) {
	x := &s.index
	// The id has no list.
	t := x.shard(tags[kindID-1])
	x.deleteAt(t, t.find(tags[kindID-1], y))
	r := s.recs.at(y)
	for k := kindSID; k <= kindSub; k++ {
		tag := tags[k-1]
		if tag == 0 {
			continue
		}
		l := k.list()
		prev, next := r.prev[l], r.next[l]
		t := x.shard(tag)
		switch {
		case prev != 0:
			s.recs.at(prev).next[l] = next
		case next != 0:
			t.slots[t.find(tag, y)] = newSlot(k, next, s.recs.at(next).tags)
		default:
			x.deleteAt(t, t.find(tag, y))
		}
		if next != 0 {
			s.recs.at(next).prev[l] = prev
		}
	}
	s.issuers.release(r.iss)
	s.recs.release(y)
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
	_, v := s.lookup(kindID, 0, in.ID, false)
	if v.ref == 0 {
		return sessionstore.ErrNotFound
	}
	y, r := v.ref, s.recs.at(v.ref)
	if r.expires <= now {
		return sessionstore.ErrNotFound
	}
	if in.Issuer != s.issuers.name(r.iss) || !r.keyIs(kindSub, in.Subject) || !r.keyIs(kindSID, in.SID) {
		return errors.New("memstore: Update cannot change a session's Issuer, Subject or SID")
	}
	r.data, r.created = data, created
	switch {
	case expires <= now:
		s.remove(y, r.tags)
	case expires < r.expires:
		// The entry is now late: replace it.
		r.expires = expires
		r.gen++
		s.expiry.push(expiryEntry{expires: expires, ref: y, gen: r.gen})
	default:
		// The entry is early or on time; when it reaches the top, reclaim
		// pushes it again at the new expiry.
		r.expires = expires
	}
	return nil
}

// Delete implements [sessionstore.Store].
func (s *Store) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	_, v := s.lookup(kindID, 0, id, true)
	if v.ref == 0 {
		return nil, nil
	}
	var ended *sessionstore.Session
	if r := s.recs.at(v.ref); r.expires > now {
		ended = r.session(s.issuers.name(r.iss))
	}
	s.remove(v.ref, v.all())
	return ended, nil
}

// DeleteBySID implements [sessionstore.Store].
func (s *Store) DeleteBySID(ctx context.Context, issuer, sid string) ([]*sessionstore.Session, error) {
	return s.deleteList(ctx, issuer, sid, kindSID)
}

// DeleteBySubject implements [sessionstore.Store].
func (s *Store) DeleteBySubject(ctx context.Context, issuer, subject string) ([]*sessionstore.Session, error) {
	return s.deleteList(ctx, issuer, subject, kindSub)
}

// deleteList removes every session on one index list and returns the live
// ones among them.
func (s *Store) deleteList(ctx context.Context, issuer, key string, k kind) ([]*sessionstore.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	if key == "" {
		return nil, nil
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	return s.deleteListLocked(issuer, key, k, now), nil
}

// head returns the index slot of the first record of the list of (issuer,
// key) in index k, or an empty slot.
func (s *Store) head(issuer, key string, k kind) slot {
	iss, ok := s.issuers.lookup(issuer)
	if !ok {
		return slot{}
	}
	_, v := s.lookup(k, iss, key, true)
	return v
}

// deleteListLocked is deleteList for a caller that holds s.mu.
func (s *Store) deleteListLocked(issuer, key string, k kind, now int64) []*sessionstore.Session {
	var ended []*sessionstore.Session
	l := k.list()
	v := s.head(issuer, key, k)
	if v.ref == 0 {
		return nil
	}
	// The first record's tags come from its slot; the others' from
	// themselves.
	for y, tags := v.ref, v.all(); y != 0; {
		r := s.recs.at(y)
		next := r.next[l]
		if r.expires > now {
			ended = append(ended, r.session(issuer))
		}
		s.remove(y, tags)
		if y = next; y != 0 {
			tags = s.recs.at(y).tags
		}
	}
	return ended
}

// reclaim handles up to reclaimPerWrite entries of the expiry queue that are
// due at or before now: it removes expired sessions, drops stale entries
// and pushes early ones again. Then it compacts the queue if stale entries
// outnumber live ones, and shrinks the index after a mass removal. The
// caller holds s.mu.
func (s *Store) reclaim(now int64) {
	for range reclaimPerWrite {
		if len(s.expiry) == 0 || s.expiry[0].expires > now {
			break
		}
		e := s.expiry[0]
		s.expiry.pop()
		r := s.recs.at(e.ref)
		switch {
		case r.gen != e.gen: // stale
		case r.expires > now:
			s.expiry.push(expiryEntry{expires: r.expires, ref: e.ref, gen: e.gen})
		default:
			s.remove(e.ref, r.tags)
		}
	}
	if len(s.expiry) > 2*s.recs.used+1024 {
		s.compact()
	}
	s.index.shrink()
}

// compact drops the stale entries of the expiry queue. It runs when they
// outnumber the live ones, so its O(n) cost is constant per removal,
// amortized.
func (s *Store) compact() {
	q := s.expiry[:0]
	for _, e := range s.expiry {
		if s.recs.at(e.ref).gen == e.gen {
			q = append(q, e)
		}
	}
	if c := cap(q); c > 1024 && len(q) < c/4 {
		q = append(expiryQueue(nil), q...)
	}
	q.heapify()
	s.expiry = q
}
