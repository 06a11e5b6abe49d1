package storetest

import (
	"context"
	"errors"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// subjectDeleter returns the store as a [sessionstore.SIDSubjectDeleter],
// or skips the subtest: the interface is optional.
func (h *harness) subjectDeleter() sessionstore.SIDSubjectDeleter {
	h.Helper()
	d, ok := h.store.(sessionstore.SIDSubjectDeleter)
	if !ok {
		h.Skipf("storetest: %T does not implement sessionstore.SIDSubjectDeleter (optional)", h.store)
	}
	return d
}

// deleteBySIDAndSubject calls DeleteBySIDAndSubject and checks the count,
// or the mismatch error when mismatch is set.
func (h *harness) deleteBySIDAndSubject(iss, sid, sub string, want int, mismatch bool) {
	h.Helper()
	ss, err := h.subjectDeleter().DeleteBySIDAndSubject(h.Context(), iss, sid, sub)
	switch {
	case mismatch && (!errors.Is(err, sessionstore.ErrSubjectMismatch) || len(ss) != 0):
		h.Errorf("DeleteBySIDAndSubject(%q, %q, %q) = %d sessions, %v; want none and an error matching ErrSubjectMismatch", iss, sid, sub, len(ss), err)
	case !mismatch && (err != nil || len(ss) != want):
		h.Errorf("DeleteBySIDAndSubject(%q, %q, %q) = %d sessions, %v; want %d, nil", iss, sid, sub, len(ss), err, want)
	}
	h.endedOf(ss, func(s *sessionstore.Session) bool { return s.Issuer == iss && s.SID == sid && s.Subject == sub })
}

// testDeleteBySIDAndSubject: a sid with a live session of another subject
// ends nothing; otherwise every session of (iss, sid) ends, no other.
func testDeleteBySIDAndSubject(h *harness) {
	h.subjectDeleter()
	op1, op2 := h.issuer("op1"), h.issuer("op2")
	a1 := h.session(op1, "alice", "sid-1", time.Hour)
	a2 := h.session(op1, "alice", "sid-1", time.Hour) // two RP sessions, one OP session
	b1 := h.session(op1, "bob", "sid-1", time.Hour)   // another user under the same sid
	a3 := h.session(op1, "alice", "sid-2", time.Hour) // alice's other OP session
	c := h.session(op1, "carol", "sid-10", time.Hour) // extension of sid-1
	a4 := h.session(op2, "alice", "sid-1", time.Hour) // same sid, other issuer
	b2 := h.session(op2, "bob", "sid-2", time.Hour)   // same sid as a3, other issuer
	n1 := h.session(op1, "alice", "", time.Hour)      // no sid
	all := []*sessionstore.Session{a1, a2, b1, a3, c, a4, b2, n1}
	for _, s := range all {
		h.create(s)
	}

	// Mismatch, whichever subject asks: nothing ends, anywhere.
	h.deleteBySIDAndSubject(op1, "sid-1", "alice", 0, true)
	h.deleteBySIDAndSubject(op1, "sid-1", "bob", 0, true)
	h.deleteBySIDAndSubject(op1, "sid-1", "mallory", 0, true)
	for _, s := range all {
		h.has(s)
	}

	// Empty sid matches nothing, not the sessions without a sid.
	h.deleteBySIDAndSubject(op1, "", "alice", 0, false)
	h.has(n1)
	// Unknown sid, and a sid known only at the other issuer.
	h.deleteBySIDAndSubject(op1, "no-such-sid", "alice", 0, false)
	h.deleteBySIDAndSubject(op2+"/", "sid-1", "alice", 0, false)

	// Once bob's session of sid-1 is gone, alice's two end, nothing else.
	h.deleteByID(b1.ID, 1)
	h.deleteBySIDAndSubject(op1, "sid-1", "alice", 2, false)
	h.gone(a1.ID)
	h.gone(a2.ID)
	for _, s := range []*sessionstore.Session{a3, c, a4, b2, n1} {
		h.has(s)
	}
	h.deleteBySIDAndSubject(op1, "sid-1", "alice", 0, false)

	// Match at one issuer, mismatch at the other, for the same sid.
	h.deleteBySIDAndSubject(op2, "sid-2", "alice", 0, true)
	h.has(b2)
	h.deleteBySIDAndSubject(op1, "sid-2", "alice", 1, false)
	h.gone(a3.ID)
	h.has(b2)
	// The survivors are still reachable by their indexes.
	h.deleteBySIDAndSubject(op2, "sid-1", "alice", 1, false)
	h.gone(a4.ID)
	h.deleteBySID(op1, "sid-10", 1)
	h.deleteBySubject(op2, "bob", 1)
	h.deleteBySubject(op1, "alice", 1)
}

// testDeleteBySIDAndSubjectExpired: an expired session of another subject
// does not block, and is not counted.
func testDeleteBySIDAndSubjectExpired(h *harness) {
	h.subjectDeleter()
	iss := h.issuer("op")
	life := h.short()
	old := h.session(iss, "bob", "sid-1", life)           // expires
	a := h.session(iss, "alice", "sid-1", life+time.Hour) // stays live
	h.create(old)
	h.create(a)
	h.deleteBySIDAndSubject(iss, "sid-1", "alice", 0, true)
	h.has(old)
	h.has(a)
	h.wait(old)
	h.deleteBySIDAndSubject(iss, "sid-1", "alice", 1, false)
	h.gone(a.ID)
	h.gone(old.ID)

	// An already expired session of another subject, created that way.
	stale := h.session(iss, "bob", "sid-2", time.Hour)
	stale.CreatedAt = stale.CreatedAt.Add(-2 * time.Hour)
	stale.ExpiresAt = stale.CreatedAt.Add(time.Hour)
	_ = h.store.Create(h.Context(), stale) // may be refused; never visible
	b := h.session(iss, "alice", "sid-2", time.Hour)
	h.create(b)
	h.deleteBySIDAndSubject(iss, "sid-2", "alice", 1, false)
	h.gone(b.ID)
}

// testDeleteBySIDAndSubjectCancelled: a cancelled context fails with
// context.Canceled and changes nothing.
func testDeleteBySIDAndSubjectCancelled(h *harness) {
	d := h.subjectDeleter()
	iss := h.issuer("op")
	s := h.session(iss, "alice", "sid-1", time.Hour)
	h.create(s)
	ctx, cancel := context.WithCancel(h.Context())
	cancel()
	if _, err := d.DeleteBySIDAndSubject(ctx, iss, "sid-1", "alice"); !errors.Is(err, context.Canceled) {
		h.Errorf("DeleteBySIDAndSubject with a cancelled context = %v, want an error matching context.Canceled", err)
	}
	h.has(s)
}
