package storetest

import (
	"errors"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// testCreateExpired: a session that is already expired when created is never
// visible. Create may accept or refuse it, but it never reports ErrExists
// afterwards for its id.
func testCreateExpired(h *harness) {
	iss := h.issuer("op")
	s := h.session(iss, "alice", "sid-1", time.Hour)
	s.CreatedAt = s.CreatedAt.Add(-2 * time.Hour)
	s.ExpiresAt = s.CreatedAt.Add(time.Hour)
	if err := h.store.Create(h.Context(), s); errors.Is(err, sessionstore.ErrExists) {
		h.Errorf("Create of an expired session = %v, want nil or another error", err)
	}
	h.gone(s.ID)
	if err := h.store.Update(h.Context(), s); !errors.Is(err, sessionstore.ErrNotFound) {
		h.Errorf("Update of an expired session = %v, want an error matching ErrNotFound", err)
	}
	h.gone(s.ID)
	h.deleteBySID(iss, "sid-1", 0)
	h.deleteBySubject(iss, "alice", 0)
	h.deleteByID(s.ID, 0)

	// The id of an expired session is free.
	live := h.session(iss, "alice", "sid-1", time.Hour)
	live.ID = s.ID
	h.create(live)
	h.has(live)
}

// testExpiry: a session is live until just before ExpiresAt and gone from
// then on, for Get, Update and every index; the index deletes do not count
// it, and its id is free again.
func testExpiry(h *harness) {
	iss := h.issuer("op")
	life := h.short()
	// Decoys expire a little earlier, so that a store which reclaims
	// expired sessions a few per write still holds the ones checked below
	// when the checks run.
	for i := range 16 {
		d := h.session(iss, "decoy", "", life-100*time.Millisecond)
		d.ExpiresAt = d.ExpiresAt.Add(time.Duration(i) * time.Millisecond)
		h.create(d)
	}
	s1 := h.session(iss, "alice", "sid-1", life)
	s2 := h.session(iss, "alice", "sid-2", life)
	s3 := h.session(iss, "bob", "sid-3", life)
	s4 := h.session(iss, "dave", "sid-4", life)
	long1 := h.session(iss, "alice", "sid-1", life+time.Hour) // shares s1's sid
	long2 := h.session(iss, "bob", "sid-5", life+time.Hour)   // shares s3's subject
	s5 := h.session(iss, "erin", "sid-7", life)               // expires and is never deleted
	short := []*sessionstore.Session{s1, s2, s3, s4, s5}
	for _, s := range []*sessionstore.Session{s1, s2, s3, s4, s5, long1, long2} {
		h.create(s)
	}
	if h.cfg.Advance != nil {
		// One millisecond before the deadline everything is live.
		first := s1.ExpiresAt
		for _, s := range short {
			if s.ExpiresAt.Before(first) {
				first = s.ExpiresAt
			}
		}
		if d := first.Add(-time.Millisecond).Sub(h.cfg.Now()); d > 0 {
			h.cfg.Advance(d)
		}
	}
	for _, s := range short {
		h.has(s)
	}
	h.wait(s1, s2, s3, s4, s5) // with Advance: exactly at ExpiresAt, which is already too late

	// Writes first, each on a different expired session, before reads.
	// s5 expired while still stored (nothing deleted it): an Update must
	// not bring it back.
	u5 := s5.Clone()
	u5.ExpiresAt = u5.ExpiresAt.Add(time.Hour)
	u5.Data.RefreshToken = "rotated"
	if err := h.store.Update(h.Context(), u5); !errors.Is(err, sessionstore.ErrNotFound) {
		h.Errorf("Update of a session that expired while stored = %v, want an error matching ErrNotFound", err)
	}
	h.deleteBySID(iss, "sid-1", 1)   // long1 only
	h.deleteBySubject(iss, "bob", 1) // long2 only
	h.deleteByID(s2.ID, 0)
	again := h.session(iss, "carol", "sid-6", time.Hour)
	again.ID = s4.ID
	if err := h.store.Create(h.Context(), again); err != nil {
		h.Errorf("Create with the id of an expired session = %v, want nil", err)
	}
	h.has(again)
	u := s1.Clone()
	u.ExpiresAt = u.ExpiresAt.Add(time.Hour)
	if err := h.store.Update(h.Context(), u); !errors.Is(err, sessionstore.ErrNotFound) {
		h.Errorf("Update of an expired session = %v, want an error matching ErrNotFound", err)
	}

	for _, s := range []*sessionstore.Session{s1, s2, s3, s5, long1, long2} {
		h.gone(s.ID)
	}
	h.deleteBySID(iss, "sid-7", 0)
	h.deleteBySubject(iss, "erin", 0)
	h.deleteBySID(iss, "sid-2", 0)
	h.deleteBySID(iss, "sid-4", 0)
	h.deleteBySubject(iss, "decoy", 0)
	h.deleteBySubject(iss, "alice", 0)
	h.deleteBySubject(iss, "carol", 1)
	h.gone(again.ID)
}

// testUpdateExtendsExpiry: Update moves ExpiresAt both ways, for Get and for
// both indexes.
func testUpdateExtendsExpiry(h *harness) {
	iss := h.issuer("op")
	life := h.short()
	a := h.session(iss, "alice", "sid-1", life)
	b := h.session(iss, "bob", "sid-2", life)
	c := h.session(iss, "carol", "sid-3", life+time.Hour)
	for _, s := range []*sessionstore.Session{a, b, c} {
		h.create(s)
	}
	var longer []*sessionstore.Session
	for _, s := range []*sessionstore.Session{a, b} {
		u := s.Clone()
		u.ExpiresAt = s.ExpiresAt.Add(2 * time.Hour)
		if err := h.store.Update(h.Context(), u); err != nil {
			h.Fatalf("Update: %v", err)
		}
		longer = append(longer, u)
	}
	shorter := c.Clone()
	shorter.ExpiresAt = a.ExpiresAt
	if err := h.store.Update(h.Context(), shorter); err != nil {
		h.Fatalf("Update: %v", err)
	}
	h.wait(a)
	h.has(longer[0])
	h.has(longer[1])
	h.gone(c.ID)
	h.deleteBySID(iss, "sid-1", 1)
	h.gone(a.ID)
	h.deleteBySubject(iss, "bob", 1)
	h.gone(b.ID)
	h.deleteBySID(iss, "sid-3", 0)
	h.deleteBySubject(iss, "carol", 0)
}
