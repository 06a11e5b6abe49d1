package storetest

import (
	"time"
)

// testGetReturnsCopy: changing a returned session does not change the store.
func testGetReturnsCopy(h *harness) {
	s := h.session(h.issuer("op"), "alice", "sid-1", time.Hour)
	want := s.Clone()
	h.create(s)
	got, err := h.store.Get(h.Context(), s.ID)
	if err != nil {
		h.Fatalf("Get: %v", err)
	}
	got.Subject = "mallory"
	got.ExpiresAt = got.ExpiresAt.Add(time.Hour)
	got.Data.RefreshToken = "changed"
	got.Data.Values["name"] = "changed"
	got.Data.Values["added"] = "x"
	got.Data.Claims[2] = 'X'
	h.has(want)
}

// testCreateCopiesInput: changing the session after Create does not change
// the store.
func testCreateCopies(h *harness) {
	s := h.session(h.issuer("op"), "alice", "sid-1", time.Hour)
	want := s.Clone()
	h.create(s)
	s.SID = "sid-2"
	s.Data.IDToken = "changed"
	s.Data.Values["name"] = "changed"
	delete(s.Data.Values, "empty")
	s.Data.Claims[2] = 'X'
	h.has(want)
	h.deleteBySID(want.Issuer, "sid-2", 0)
	h.deleteBySID(want.Issuer, "sid-1", 1)
}

// testUpdateCopiesInput: changing the session after Update does not change
// the store.
func testUpdateCopies(h *harness) {
	s := h.session(h.issuer("op"), "alice", "sid-1", time.Hour)
	h.create(s)
	u := s.Clone()
	u.Data.Values["name"] = "updated"
	if err := h.store.Update(h.Context(), u); err != nil {
		h.Fatalf("Update: %v", err)
	}
	want := u.Clone()
	u.Data.Values["name"] = "changed"
	u.Data.AccessToken = "changed"
	u.Data.Claims[2] = 'X'
	h.has(want)
}
