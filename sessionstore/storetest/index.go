package storetest

import (
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// testDeleteBySID: every session sharing (iss, sid) ends, no other.
func testDeleteBySID(h *harness) {
	iss := h.issuer("op")
	a1 := h.session(iss, "alice", "sid-1", time.Hour)
	a2 := h.session(iss, "alice", "sid-1", time.Hour) // same OP session, two RP sessions
	b := h.session(iss, "bob", "sid-1", time.Hour)    // odd, but the sid decides
	a3 := h.session(iss, "alice", "sid-2", time.Hour) // alice's other OP session
	c := h.session(iss, "carol", "sid-10", time.Hour) // prefix of nothing, extension of sid-1
	h.create(a1)
	h.create(a2)
	h.create(b)
	h.create(a3)
	h.create(c)
	h.deleteBySID(iss, "sid-1", 3)
	h.gone(a1.ID)
	h.gone(a2.ID)
	h.gone(b.ID)
	h.has(a3)
	h.has(c)
	h.deleteBySID(iss, "sid-1", 0)
	h.deleteBySubject(iss, "bob", 0)
	// The rest is still reachable by its indexes.
	h.deleteBySubject(iss, "alice", 1)
	h.gone(a3.ID)
	h.deleteBySID(iss, "sid-10", 1)
	h.gone(c.ID)
}

// testDeleteBySubject: every session of (iss, sub) ends, whatever its sid,
// and nobody else's.
func testDeleteBySubject(h *harness) {
	iss := h.issuer("op")
	a1 := h.session(iss, "alice", "sid-1", time.Hour)
	a2 := h.session(iss, "alice", "sid-2", time.Hour)
	a3 := h.session(iss, "alice", "", time.Hour)
	b := h.session(iss, "bob", "sid-1", time.Hour) // shares a sid with alice
	al := h.session(iss, "alice2", "sid-3", time.Hour)
	for _, s := range []*sessionstore.Session{a1, a2, a3, b, al} {
		h.create(s)
	}
	h.deleteBySubject(iss, "alice", 3)
	h.gone(a1.ID)
	h.gone(a2.ID)
	h.gone(a3.ID)
	h.has(b)
	h.has(al)
	h.deleteBySubject(iss, "alice", 0)
	h.deleteBySID(iss, "sid-2", 0)
	// bob's session is still found by the sid it shared with alice.
	h.deleteBySID(iss, "sid-1", 1)
	h.gone(b.ID)
	h.has(al)
}

// testEmptySID: DeleteBySID with an empty sid matches nothing, not the
// sessions that have no sid.
func testEmptySID(h *harness) {
	iss := h.issuer("op")
	a := h.session(iss, "alice", "", time.Hour)
	b := h.session(iss, "bob", "", time.Hour)
	h.create(a)
	h.create(b)
	h.deleteBySID(iss, "", 0)
	h.has(a)
	h.has(b)
	// They are still found by subject.
	h.deleteBySubject(iss, "alice", 1)
	h.gone(a.ID)
	h.has(b)
}

// testEmptySubject: DeleteBySubject with an empty subject matches nothing.
func testEmptySubject(h *harness) {
	iss := h.issuer("op")
	a := h.session(iss, "", "sid-1", time.Hour)
	h.create(a)
	h.deleteBySubject(iss, "", 0)
	h.has(a)
	h.deleteBySID(iss, "sid-1", 1)
	h.gone(a.ID)
}

// testIssuerScoping: sid and sub are unique only per issuer.
func testIssuerScoping(h *harness) {
	op1, op2 := h.issuer("op1"), h.issuer("op2")
	a1 := h.session(op1, "alice", "sid-1", time.Hour)
	a2 := h.session(op2, "alice", "sid-1", time.Hour)
	b1 := h.session(op1, "bob", "sid-2", time.Hour)
	b2 := h.session(op2, "bob", "sid-2", time.Hour)
	for _, s := range []*sessionstore.Session{a1, a2, b1, b2} {
		h.create(s)
	}
	h.deleteBySID(op1, "sid-1", 1)
	h.gone(a1.ID)
	h.has(a2)
	h.deleteBySubject(op2, "bob", 1)
	h.gone(b2.ID)
	h.has(b1)
	// An issuer that differs only by a trailing slash is another issuer.
	h.deleteBySID(op2+"/", "sid-1", 0)
	h.deleteBySubject(op1+"/", "bob", 0)
	h.has(a2)
	h.has(b1)
}

// testNamespaces: a sid and a subject with the same value do not meet.
func testNamespaces(h *harness) {
	iss := h.issuer("op")
	bySID := h.session(iss, "u1", "x", time.Hour)
	bySub := h.session(iss, "x", "", time.Hour)
	h.create(bySID)
	h.create(bySub)
	h.deleteBySID(iss, "x", 1)
	h.gone(bySID.ID)
	h.has(bySub)
	h.deleteBySubject(iss, "x", 1)
	h.gone(bySub.ID)
}
