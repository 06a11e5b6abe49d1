package memstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/oidc-slo/slo/sessionstore"
)

// check verifies the store's internal invariants.
func (s *Store) check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := &s.index
	// Every slot is reachable from its home, and names a record in use
	// whose tag it carries.
	slots := 0
	for si := range x.shards {
		t := &x.shards[si]
		n, err := s.checkShard(t, si)
		if err != nil {
			return err
		}
		slots += n
	}
	if slots != x.n {
		return fmt.Errorf("index counts %d slots, holds %d", x.n, slots)
	}
	if err := s.checkRecords(); err != nil {
		return err
	}
	return s.checkQueue()
}

// checkShard verifies one shard of the index and returns its number of
// slots in use.
func (s *Store) checkShard(t *table, si int) (int, error) {
	mask := len(t.slots) - 1
	slots := 0
	for i, v := range t.slots {
		if v.ref == 0 {
			if v != (slot{}) {
				return 0, fmt.Errorf("empty slot %d not cleared", i)
			}
			continue
		}
		slots++
		if s.index.shard(v.tag) != t {
			return 0, fmt.Errorf("slot %d in shard %d belongs to another", i, si)
		}
		for j := t.home(v.tag); j != i; j = (j + 1) & mask {
			if t.slots[j].ref == 0 {
				return 0, fmt.Errorf("slot %d unreachable from its home", i)
			}
		}
		y := v.ref
		if y <= 0 || int(y) > len(s.recs.chunks)*chunkLen {
			return 0, fmt.Errorf("slot %d names ref %d", i, y)
		}
		r := s.recs.at(y)
		k := kind(v.tag & 3)
		if r.tags[kindID-1] == 0 || r.tags[k-1] != v.tag || v.all() != r.tags {
			return 0, fmt.Errorf("slot %d names a record that is free or has other tags", i)
		}
		if k != kindID && r.prev[k.list()] != 0 {
			return 0, fmt.Errorf("slot %d names a record that is not first on its list", i)
		}
	}
	if slots != t.n {
		return 0, fmt.Errorf("shard %d counts %d slots, holds %d", si, t.n, slots)
	}
	return slots, nil
}

// checkRecords verifies the slab, the records' links and the issuers.
func (s *Store) checkRecords() error {
	x := &s.index
	// The free list holds exactly the records not in use.
	free := 0
	for y := s.recs.free; y != 0; y = s.recs.at(y).next[0] {
		r := s.recs.at(y)
		if r.end != 0 || r.long != "" || r.data != nil || r.tags != [kinds]uint32{} || r.prev != [2]ref{} {
			return fmt.Errorf("free record %d not cleared", y)
		}
		if free++; free > len(s.recs.chunks)*chunkLen {
			return errors.New("free list loops")
		}
	}
	if free+s.recs.used != len(s.recs.chunks)*chunkLen {
		return fmt.Errorf("%d records free and %d used, slab holds %d", free, s.recs.used, len(s.recs.chunks)*chunkLen)
	}
	// Every record in use is indexed under each of its non-empty keys.
	refs := make(map[uint32]int)
	entries := make(map[ref]int)
	for _, e := range s.expiry {
		if r := s.recs.at(e.ref); r.gen == e.gen && r.tags[kindID-1] != 0 {
			if e.expires > r.expires {
				return fmt.Errorf("%q expires at %d, its entry at %d", r.keys()[r.idOff:r.subOff], r.expires, e.expires)
			}
			entries[e.ref]++
		}
	}
	used := 0
	seen := make(map[string]bool)
	for i := range len(s.recs.chunks) * chunkLen {
		y := ref(i + 1)
		r := s.recs.at(y)
		if r.tags[kindID-1] == 0 {
			continue
		}
		used++
		id := r.keys()[r.idOff:r.subOff]
		if seen[id] {
			return fmt.Errorf("id %q stored twice", id)
		}
		seen[id] = true
		if entries[y] != 1 {
			return fmt.Errorf("%q has %d live expiry entries", id, entries[y])
		}
		refs[r.iss]++
		if s.issuers.names[r.iss] == "" && s.issuers.byName[""] != r.iss {
			return fmt.Errorf("%q has a forgotten issuer", id)
		}
		if _, got := s.lookup(kindID, 0, id, false); got.ref != y {
			return fmt.Errorf("Get(%q) finds %d, want %d", id, got.ref, y)
		}
		for k := kindID; k <= kindSub; k++ {
			i, j := r.bounds(k)
			key := r.keys()[i:j]
			if key == "" {
				if r.tags[k-1] != 0 || (k != kindID && (r.prev[k.list()] != 0 || r.next[k.list()] != 0)) {
					return fmt.Errorf("%q linked on empty key", id)
				}
				continue
			}
			if want := x.tagString(k, s.issuerOf(k, r), key); r.tags[k-1] != want {
				return fmt.Errorf("%q: tag %d is %x, want %x", id, k, r.tags[k-1], want)
			}
			if k == kindID {
				continue
			}
			l := k.list()
			if p := r.prev[l]; p != 0 && s.recs.at(p).next[l] != y {
				return fmt.Errorf("%q: prev does not point back", id)
			}
			if n := r.next[l]; n != 0 {
				nr := s.recs.at(n)
				if nr.prev[l] != y || !nr.keyIs(k, key) || nr.iss != r.iss {
					return fmt.Errorf("%q: next inconsistent", id)
				}
			}
			h := y
			for s.recs.at(h).prev[l] != 0 {
				h = s.recs.at(h).prev[l]
			}
			if _, got := s.lookup(k, r.iss, key, false); got.ref != h {
				return fmt.Errorf("%q: list %d head %d is not indexed (found %d)", id, k, h, got.ref)
			}
		}
	}
	if used != s.recs.used {
		return fmt.Errorf("%d records in use, slab counts %d", used, s.recs.used)
	}
	for i, name := range s.issuers.names {
		n := refs[uint32(i)]
		if n == 0 {
			if s.issuers.refs[i] != 0 {
				return fmt.Errorf("issuer %d refs %d, want 0", i, s.issuers.refs[i])
			}
			continue
		}
		if s.issuers.refs[i] != n {
			return fmt.Errorf("issuer %q refs %d, want %d", name, s.issuers.refs[i], n)
		}
		if s.issuers.byName[name] != uint32(i) {
			return fmt.Errorf("issuer %q not interned", name)
		}
	}
	if len(s.issuers.byName) != len(refs) {
		return fmt.Errorf("%d issuers interned, %d in use", len(s.issuers.byName), len(refs))
	}
	return nil
}

// checkQueue verifies the expiry queue's order and size.
func (s *Store) checkQueue() error {
	for i := 1; i < len(s.expiry); i++ {
		if s.expiry[(i-1)/2].expires > s.expiry[i].expires {
			return fmt.Errorf("heap order broken at %d", i)
		}
	}
	if len(s.expiry) > 2*s.recs.used+1024 {
		return fmt.Errorf("expiry queue holds %d entries for %d sessions", len(s.expiry), s.recs.used)
	}
	return nil
}

// TestModel runs random operations against the store and a trivial model
// and compares results and invariants after each one.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		collide bool
		pad     string // makes the keys too long to be stored inline
	}{
		{false, ""},
		{true, ""},
		{false, strings.Repeat("x", shortLen/2)},
	} {
		t.Run(fmt.Sprintf("collide=%v,long=%v", tc.collide, tc.pad != ""), func(t *testing.T) { testModel(t, tc.collide, tc.pad) })
	}
}

func testModel(t *testing.T, collide bool, pad string) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	s.index.collide = collide
	model := make(map[string]*sessionstore.Session)
	live := func(m *sessionstore.Session) bool { return m != nil && m.ExpiresAt.After(now) }
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%s%d", pad, prefix, rng.IntN(n)) }
	key := func(prefix string, n int) string {
		if rng.IntN(4) == 0 {
			return ""
		}
		return pick(prefix, n)
	}
	for step := range 20000 {
		id := pick("id", 40)
		iss := pick("iss", 3)
		var desc string
		switch op := rng.IntN(8); op {
		case 0, 1: // Create
			in := &sessionstore.Session{
				ID: id, Issuer: iss, Subject: key("sub", 6), SID: key("sid", 8),
				CreatedAt: now, ExpiresAt: now.Add(time.Duration(rng.IntN(100)-10) * time.Second),
			}
			desc = fmt.Sprintf("Create(%q %q %q %q)", in.ID, in.Issuer, in.Subject, in.SID)
			err := s.Create(ctx, in)
			m := model[id]
			switch {
			case live(m):
				if !errors.Is(err, sessionstore.ErrExists) {
					t.Fatalf("step %d %s = %v, want ErrExists", step, desc, err)
				}
			case err != nil:
				t.Fatalf("step %d %s = %v", step, desc, err)
			default:
				model[id] = in.Clone()
			}
		case 2: // Update
			m := model[id]
			if m == nil {
				continue
			}
			u := m.Clone()
			u.ExpiresAt = now.Add(time.Duration(rng.IntN(100)-10) * time.Second)
			desc = fmt.Sprintf("Update(%q)", id)
			err := s.Update(ctx, u)
			if live(m) {
				if err != nil {
					t.Fatalf("step %d %s = %v", step, desc, err)
				}
				model[id] = u
			} else if !errors.Is(err, sessionstore.ErrNotFound) {
				t.Fatalf("step %d %s = %v, want ErrNotFound", step, desc, err)
			}
		case 3: // Get
			got, err := s.Get(ctx, id)
			if m := model[id]; live(m) {
				if err != nil || got.Subject != m.Subject || got.SID != m.SID || got.Issuer != m.Issuer || !got.ExpiresAt.Equal(m.ExpiresAt) {
					t.Fatalf("step %d Get(%q) = %+v, %v; want %+v", step, id, got, err, m)
				}
			} else if !errors.Is(err, sessionstore.ErrNotFound) {
				t.Fatalf("step %d Get(%q) = %v, want ErrNotFound", step, id, err)
			}
		case 4, 5, 6: // Delete, DeleteBySID, DeleteBySubject
			var n int
			var err error
			var match func(m *sessionstore.Session) bool
			switch op {
			case 4:
				desc = fmt.Sprintf("Delete(%q)", id)
				var ended *sessionstore.Session
				ended, err = s.Delete(ctx, id)
				if ended != nil {
					n = 1
				}
				match = func(m *sessionstore.Session) bool { return m.ID == id }
			case 5:
				sid := key("sid", 8)
				desc = fmt.Sprintf("DeleteBySID(%q, %q)", iss, sid)
				var ended []*sessionstore.Session
				ended, err = s.DeleteBySID(ctx, iss, sid)
				n = len(ended)
				match = func(m *sessionstore.Session) bool { return sid != "" && m.Issuer == iss && m.SID == sid }
			case 6:
				sub := key("sub", 6)
				desc = fmt.Sprintf("DeleteBySubject(%q, %q)", iss, sub)
				var ended []*sessionstore.Session
				ended, err = s.DeleteBySubject(ctx, iss, sub)
				n = len(ended)
				match = func(m *sessionstore.Session) bool { return sub != "" && m.Issuer == iss && m.Subject == sub }
			}
			want := 0
			for k, m := range model {
				if match(m) {
					if live(m) {
						want++
					}
					delete(model, k)
				}
			}
			if err != nil || n != want {
				t.Fatalf("step %d %s = %d, %v; want %d", step, desc, n, err, want)
			}
		case 7: // DeleteBySIDAndSubject
			sid, sub := key("sid", 8), pick("sub", 6)
			desc = fmt.Sprintf("DeleteBySIDAndSubject(%q, %q, %q)", iss, sid, sub)
			ended, err := s.DeleteBySIDAndSubject(ctx, iss, sid, sub)
			n := len(ended)
			match := func(m *sessionstore.Session) bool { return sid != "" && m.Issuer == iss && m.SID == sid }
			mismatch := false
			for _, m := range model {
				if match(m) && live(m) && m.Subject != sub {
					mismatch = true
				}
			}
			if mismatch {
				if !errors.Is(err, sessionstore.ErrSubjectMismatch) || n != 0 {
					t.Fatalf("step %d %s = %d, %v; want ErrSubjectMismatch", step, desc, n, err)
				}
				break
			}
			want := 0
			for k, m := range model {
				if match(m) {
					if live(m) {
						want++
					}
					delete(model, k)
				}
			}
			if err != nil || n != want {
				t.Fatalf("step %d %s = %d, %v; want %d", step, desc, n, err, want)
			}
		}
		if rng.IntN(10) == 0 {
			now = now.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
		}
		if err := s.check(); err != nil {
			t.Fatalf("step %d %s: %v", step, desc, err)
		}
	}
}

// TestReclaim checks that expired sessions are reclaimed by later writes,
// including those whose expiry an Update moved.
func TestReclaim(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	const n = 100
	for i := range n {
		in := &sessionstore.Session{ID: fmt.Sprint(i), Issuer: "iss", Subject: "sub", SID: fmt.Sprint("sid", i%7),
			ExpiresAt: now.Add(time.Hour)}
		if err := s.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 { // half of them are extended
			in.ExpiresAt = now.Add(3 * time.Hour)
			if err := s.Update(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	now = now.Add(2 * time.Hour)
	for i := range n {
		// Writes that touch nothing still reclaim.
		if _, err := s.Delete(ctx, fmt.Sprint("missing", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Len(); got != n/2 {
		t.Errorf("after expiry and %d writes: Len = %d, want %d", n, got, n/2)
	}
	if err := s.check(); err != nil {
		t.Error(err)
	}
	if got, err := s.DeleteBySubject(ctx, "iss", "sub"); len(got) != n/2 || err != nil {
		t.Errorf("DeleteBySubject = %d sessions, %v; want %d", len(got), err, n/2)
	}
	if s.Len() != 0 || len(s.issuers.byName) != 0 || s.index.n != 0 {
		t.Errorf("store not empty: %d sessions, %d issuers", s.Len(), len(s.issuers.byName))
	}
}

func TestRefusals(t *testing.T) {
	ctx := t.Context()
	s := New(Config{})
	base := sessionstore.Session{ID: "a", Issuer: "iss", Subject: "sub", SID: "sid", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.Create(ctx, &base); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    func(*sessionstore.Session)
	}{
		{"Issuer", func(s *sessionstore.Session) { s.Issuer = "other" }},
		{"Subject", func(s *sessionstore.Session) { s.Subject = "other" }},
		{"SID", func(s *sessionstore.Session) { s.SID = "" }},
		{"FarFuture", func(s *sessionstore.Session) { s.ExpiresAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	} {
		u := base
		tc.f(&u)
		if err := s.Update(ctx, &u); err == nil || errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("Update changing %s = %v, want a refusal", tc.name, err)
		}
	}
	for _, in := range []*sessionstore.Session{nil, {Issuer: "iss", ExpiresAt: time.Now().Add(time.Hour)}} {
		if err := s.Create(ctx, in); err == nil {
			t.Errorf("Create(%v) = nil, want an error", in)
		}
	}
	if got, err := s.Get(ctx, "a"); err != nil || got.SID != "sid" {
		t.Errorf("Get after refused updates = %v, %v", got, err)
	}
}

// TestZeroCreatedAt: the zero time survives.
func TestZeroCreatedAt(t *testing.T) {
	s := New(Config{})
	in := &sessionstore.Session{ID: "a", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.Create(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), "a")
	if err != nil || !got.CreatedAt.IsZero() {
		t.Errorf("Get = %v, %v; want zero CreatedAt", got, err)
	}
}

// TestRecordSize holds the record to the size its memory budget assumes.
func TestRecordSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if got := unsafe.Sizeof(record{}); got != 208 {
		t.Errorf("record is %d bytes, want 208", got)
	}
	if got := unsafe.Offsetof(record{}.short); got != 80 {
		t.Errorf("keys start at byte %d, want 80", got)
	}
}

// TestChurn ends and recreates sessions many times over, so that the
// expiry queue fills with stale entries and is compacted, then ends almost
// all of them, so that the index shrinks.
func TestChurn(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	const live = 3000
	in := func(i int) *sessionstore.Session {
		return &sessionstore.Session{ID: fmt.Sprint("id", i), Issuer: "iss", Subject: fmt.Sprint("sub", i%500),
			SID: fmt.Sprint("sid", i), ExpiresAt: now.Add(time.Hour)}
	}
	for i := range live {
		if err := s.Create(ctx, in(i)); err != nil {
			t.Fatal(err)
		}
	}
	compactions, longest, last := 0, 0, len(s.expiry)
	for round := range 10 * live {
		i := round % live
		if ended, err := s.DeleteBySID(ctx, "iss", fmt.Sprint("sid", i)); len(ended) != 1 || err != nil {
			t.Fatalf("DeleteBySID = %d sessions, %v", len(ended), err)
		}
		if err := s.Create(ctx, in(i)); err != nil {
			t.Fatal(err)
		}
		if len(s.expiry) < last {
			compactions++
		}
		last = len(s.expiry)
		longest = max(longest, last)
	}
	if compactions == 0 || longest > 2*live+1024+1 {
		t.Errorf("%d compactions, expiry queue up to %d entries for %d sessions", compactions, longest, live)
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	grown := s.index.size()
	for i := range live - 10 {
		if ended, err := s.Delete(ctx, fmt.Sprint("id", i)); ended == nil || err != nil {
			t.Fatalf("Delete = %v, %v", ended, err)
		}
	}
	for range shards { // shrink looks at one shard per write
		if _, err := s.Delete(ctx, "missing"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.index.size(); got > 2*shards*minSlots {
		t.Errorf("index has %d slots for 10 sessions, had %d for %d", got, grown, live)
	}
	if got := len(s.expiry); got > 1024+20 {
		t.Errorf("expiry queue has %d entries for 10 sessions", got)
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	for i := live - 10; i < live; i++ {
		if got, err := s.Get(ctx, fmt.Sprint("id", i)); err != nil || got.SID != fmt.Sprint("sid", i) {
			t.Errorf("Get(id%d) = %v, %v", i, got, err)
		}
	}
}
