package storetest

import (
	"errors"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// testRoundTrip: every field comes back as stored, including zero Data.
func testRoundTrip(h *harness) {
	iss := h.issuer("op")
	full := h.session(iss, "alice", "sid-1", time.Hour)
	h.create(full)
	h.has(full)

	bare := h.session(iss, "bob", "", time.Hour)
	bare.Data = sessionstore.Data{}
	h.create(bare)
	h.has(bare)

	// Sub-millisecond parts may be lost; whole milliseconds may not.
	ms := h.session(iss, "carol", "sid-ms", time.Hour)
	ms.CreatedAt = ms.CreatedAt.Add(-time.Millisecond)
	ms.ExpiresAt = ms.ExpiresAt.Add(time.Millisecond)
	ms.Data.TokenExpiry = ms.Data.TokenExpiry.Add(7 * time.Millisecond)
	h.create(ms)
	h.has(ms)
}

// testGetUnknown: unknown ids are ErrNotFound, and deleting them ends nothing.
func testGetUnknown(h *harness) {
	id := h.id("unknown")
	h.gone(id)
	h.gone("")
	h.deleteByID(id, 0)
	h.deleteBySID(h.issuer("op"), "no-such-sid", 0)
	h.deleteBySubject(h.issuer("op"), "no-such-sub", 0)
}

// testCreateDuplicate: Create never overwrites.
func testCreateDuplicate(h *harness) {
	iss := h.issuer("op")
	first := h.session(iss, "alice", "sid-1", time.Hour)
	h.create(first)
	dup := h.session(iss, "mallory", "sid-2", 2*time.Hour)
	dup.ID = first.ID
	dup.Data.RefreshToken = "other"
	if err := h.store.Create(h.Context(), dup); !errors.Is(err, sessionstore.ErrExists) {
		h.Errorf("Create of a taken id = %v, want an error matching ErrExists", err)
	}
	h.has(first)
	// The refused session must not have been indexed either.
	h.deleteBySID(iss, "sid-2", 0)
	h.deleteBySubject(iss, "mallory", 0)
	h.has(first)
}

// testUpdateRoundTrip: Update replaces every mutable field.
func testUpdateRoundTrip(h *harness) {
	iss := h.issuer("op")
	s := h.session(iss, "alice", "sid-1", time.Hour)
	h.create(s)
	u := s.Clone()
	u.ExpiresAt = u.ExpiresAt.Add(time.Hour)
	u.Data = sessionstore.Data{
		IDToken:      "new.id.token",
		RefreshToken: "new-refresh",
		TokenExpiry:  u.CreatedAt.Add(time.Hour),
		Values:       map[string]string{"k": "v2"},
	}
	if err := h.store.Update(h.Context(), u); err != nil {
		h.Fatalf("Update: %v", err)
	}
	h.has(u)
	// Clearing works too.
	u.Data = sessionstore.Data{}
	if err := h.store.Update(h.Context(), u); err != nil {
		h.Fatalf("Update: %v", err)
	}
	h.has(u)
	h.deleteBySID(iss, "sid-1", 1)
}

// testUpdateUnknown: Update never inserts.
func testUpdateUnknown(h *harness) {
	s := h.session(h.issuer("op"), "alice", "sid-1", time.Hour)
	if err := h.store.Update(h.Context(), s); !errors.Is(err, sessionstore.ErrNotFound) {
		h.Errorf("Update of an unknown id = %v, want an error matching ErrNotFound", err)
	}
	h.gone(s.ID)
	h.deleteBySID(s.Issuer, s.SID, 0)
	h.deleteBySubject(s.Issuer, s.Subject, 0)
	// The id is still free.
	h.create(s)
	h.has(s)
}

// testUpdateAfterDelete: a session ended by any delete is not resurrected by
// an Update that was in flight.
func testUpdateAfterDelete(h *harness) {
	iss := h.issuer("op")
	for _, tc := range []struct {
		name string
		del  func(s *sessionstore.Session)
	}{
		{"Delete", func(s *sessionstore.Session) { h.deleteByID(s.ID, 1) }},
		{"DeleteBySID", func(s *sessionstore.Session) { h.deleteBySID(s.Issuer, s.SID, 1) }},
		{"DeleteBySubject", func(s *sessionstore.Session) { h.deleteBySubject(s.Issuer, s.Subject, 1) }},
	} {
		s := h.session(iss, "user-"+tc.name, "sid-"+tc.name, time.Hour)
		h.create(s)
		tc.del(s)
		u := s.Clone()
		u.Data.RefreshToken = "rotated"
		if err := h.store.Update(h.Context(), u); !errors.Is(err, sessionstore.ErrNotFound) {
			h.Errorf("after %s: Update = %v, want an error matching ErrNotFound", tc.name, err)
		}
		h.gone(s.ID)
		h.deleteByID(s.ID, 0)
		h.deleteBySID(s.Issuer, s.SID, 0)
		h.deleteBySubject(s.Issuer, s.Subject, 0)
	}
}

// testDeleteIdempotent: deleting twice ends the session once.
func testDeleteIdempotent(h *harness) {
	iss := h.issuer("op")
	s := h.session(iss, "alice", "sid-1", time.Hour)
	other := h.session(iss, "bob", "sid-2", time.Hour)
	h.create(s)
	h.create(other)
	h.deleteByID(s.ID, 1)
	h.gone(s.ID)
	h.deleteByID(s.ID, 0)
	h.deleteBySID(iss, "sid-1", 0)
	h.deleteBySubject(iss, "alice", 0)
	h.has(other)
}

// testDeleteReturnsSessions: each delete returns the live sessions it
// ended, whole (Data included), so that the caller can act on them; an
// expired one is not returned.
func testDeleteReturnsSessions(h *harness) {
	iss := h.issuer("op")
	a := h.session(iss, "alice", "sid-1", time.Hour)
	b := h.session(iss, "alice", "sid-2", time.Hour)
	c := h.session(iss, "bob", "sid-3", time.Hour)
	for _, s := range []*sessionstore.Session{a, b, c} {
		h.create(s)
	}
	if got := h.deleteBySID(iss, "sid-1", 1); len(got) == 1 {
		if d := diff(a, got[0]); d != "" {
			h.Errorf("DeleteBySID returned a session unlike the stored one:\n%s", d)
		}
	}
	if got := h.deleteBySubject(iss, "alice", 1); len(got) == 1 {
		if d := diff(b, got[0]); d != "" {
			h.Errorf("DeleteBySubject returned a session unlike the stored one:\n%s", d)
		}
	}
	if got := h.deleteByID(c.ID, 1); got != nil {
		if d := diff(c, got); d != "" {
			h.Errorf("Delete returned a session unlike the stored one:\n%s", d)
		}
	}
}
