package memstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// check verifies the store's internal invariants.
func (s *Store) check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.expiry) != len(s.byID) {
		return fmt.Errorf("expiry queue has %d records, byID %d", len(s.expiry), len(s.byID))
	}
	for i, e := range s.expiry {
		r := e.r
		if e.expires != r.expires {
			return fmt.Errorf("heap entry %d has a stale expiry", i)
		}
		if int(r.heapIdx) != i {
			return fmt.Errorf("record %q at heap %d says %d", r.id, i, r.heapIdx)
		}
		if i > 0 && s.expiry[(i-1)/2].expires > r.expires {
			return fmt.Errorf("heap order broken at %d", i)
		}
		if s.byID[r.id] != r {
			return fmt.Errorf("heap record %q not in byID", r.id)
		}
	}
	refs := make(map[uint32]int)
	for id, r := range s.byID {
		if r.id != id {
			return fmt.Errorf("byID[%q] holds %q", id, r.id)
		}
		refs[r.iss]++
		e := s.issuers.list[r.iss]
		for ix, key := range r.keys {
			if key == "" {
				if r.prev[ix] != nil || r.next[ix] != nil {
					return fmt.Errorf("%q linked on empty key", id)
				}
				continue
			}
			if p := r.prev[ix]; p != nil && p.next[ix] != r {
				return fmt.Errorf("%q: prev does not point back", id)
			}
			if n := r.next[ix]; n != nil && (n.prev[ix] != r || s.issuers.hash(n.keys[ix]) != s.issuers.hash(key) || n.iss != r.iss) {
				return fmt.Errorf("%q: next inconsistent", id)
			}
			h := r
			for h.prev[ix] != nil {
				h = h.prev[ix]
			}
			if e.heads[ix][s.issuers.hash(key)] != h {
				return fmt.Errorf("%q: list head is not indexed", id)
			}
		}
	}
	for i, e := range s.issuers.list {
		if e == nil {
			continue
		}
		if e.refs != refs[uint32(i)] {
			return fmt.Errorf("issuer %q refs %d, want %d", e.name, e.refs, refs[uint32(i)])
		}
		if s.issuers.byName[e.name] != uint32(i) {
			return fmt.Errorf("issuer %q not interned", e.name)
		}
		for ix, m := range e.heads {
			for key, h := range m {
				if h.prev[ix] != nil || s.issuers.hash(h.keys[ix]) != key || s.byID[h.id] != h {
					return fmt.Errorf("bad head for %x", key)
				}
			}
		}
	}
	if len(s.issuers.byName) != len(refs) {
		return fmt.Errorf("%d issuers interned, %d in use", len(s.issuers.byName), len(refs))
	}
	return nil
}

// TestModel runs random operations against the store and a trivial model
// and compares results and invariants after each one.
func TestModel(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) { testModel(t, collide) })
	}
}

func testModel(t *testing.T, collide bool) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	s.issuers.collide = collide
	model := make(map[string]*sessionstore.Session)
	live := func(m *sessionstore.Session) bool { return m != nil && m.ExpiresAt.After(now) }
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(n)) }
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
				n, err = s.Delete(ctx, id)
				match = func(m *sessionstore.Session) bool { return m.ID == id }
			case 5:
				sid := key("sid", 8)
				desc = fmt.Sprintf("DeleteBySID(%q, %q)", iss, sid)
				n, err = s.DeleteBySID(ctx, iss, sid)
				match = func(m *sessionstore.Session) bool { return sid != "" && m.Issuer == iss && m.SID == sid }
			case 6:
				sub := key("sub", 6)
				desc = fmt.Sprintf("DeleteBySubject(%q, %q)", iss, sub)
				n, err = s.DeleteBySubject(ctx, iss, sub)
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
			n, err := s.DeleteBySIDAndSubject(ctx, iss, sid, sub)
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
	if got, err := s.DeleteBySubject(ctx, "iss", "sub"); got != n/2 || err != nil {
		t.Errorf("DeleteBySubject = %d, %v; want %d", got, err, n/2)
	}
	if s.Len() != 0 || len(s.issuers.byName) != 0 {
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
