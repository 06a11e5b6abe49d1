package storetest

import (
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// lastLogout checks what LastLogout says for (iss, sid, sub).
func (h *harness) lastLogout(iss, sid, sub string, received, issued time.Time) {
	h.Helper()
	r, i, err := h.store.LastLogout(h.Context(), iss, sid, sub)
	if err != nil {
		h.Fatalf("LastLogout(%q, %q, %q): %v", iss, sid, sub, err)
	}
	if !r.Equal(received) || !i.Equal(issued) {
		h.Errorf("LastLogout(%q, %q, %q) = %v, %v; want %v, %v", iss, sid, sub, r, i, received, issued)
	}
}

func (h *harness) recordLogout(l sessionstore.Logout) {
	h.Helper()
	if err := h.store.RecordLogout(h.Context(), l); err != nil {
		h.Fatalf("RecordLogout(%+v): %v", l, err)
	}
}

// testLogoutRecords: a logout record of an OP session or of a subject is
// found by LastLogout under its issuer only, keeps millisecond times, moves
// forward and never back, and is not a session.
func testLogoutRecords(h *harness) {
	iss, other := h.issuer("op"), h.issuer("other")
	now := h.now()
	var zero time.Time
	sidEnd := sessionstore.Logout{Issuer: iss, SID: "sid 1&#%+\"", Subject: "alice",
		ReceivedAt: now.Add(-2 * time.Second), IssuedAt: now.Add(-3 * time.Second), ExpiresAt: now.Add(time.Hour)}
	h.recordLogout(sidEnd)
	h.lastLogout(iss, sidEnd.SID, "", sidEnd.ReceivedAt, sidEnd.IssuedAt)
	// A sid logout names only its OP session, not the subject.
	h.lastLogout(iss, "sid-2", "alice", zero, zero)
	h.lastLogout(other, sidEnd.SID, "", zero, zero)
	h.lastLogout(iss, "", sidEnd.SID, zero, zero) // sid and subject are apart
	h.lastLogout(iss, "", "", zero, zero)

	// A subject logout names every OP session of the subject.
	subEnd := sessionstore.Logout{Issuer: iss, Subject: "bob",
		ReceivedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)}
	h.recordLogout(subEnd)
	h.lastLogout(iss, "any-sid", "bob", subEnd.ReceivedAt, zero)
	h.lastLogout(iss, "", "bob", subEnd.ReceivedAt, zero)
	h.lastLogout(iss, "bob", "", zero, zero)
	// Both records: the later of each time.
	h.lastLogout(iss, sidEnd.SID, "bob", subEnd.ReceivedAt, sidEnd.IssuedAt)

	// Moves forward, never back.
	h.recordLogout(sessionstore.Logout{Issuer: iss, SID: sidEnd.SID,
		ReceivedAt: now.Add(-time.Hour), IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Minute)})
	h.lastLogout(iss, sidEnd.SID, "", sidEnd.ReceivedAt, sidEnd.IssuedAt)
	later := sessionstore.Logout{Issuer: iss, SID: sidEnd.SID,
		ReceivedAt: now.Add(5 * time.Millisecond), ExpiresAt: now.Add(time.Hour)}
	h.recordLogout(later)
	h.lastLogout(iss, sidEnd.SID, "", later.ReceivedAt, sidEnd.IssuedAt)

	// Not a session: no index and no Get sees a logout record.
	h.deleteBySID(iss, sidEnd.SID, 0)
	h.deleteBySubject(iss, "alice", 0)
	h.deleteBySubject(iss, "bob", 0)

	// An already expired record is not kept.
	h.recordLogout(sessionstore.Logout{Issuer: iss, SID: "gone", ReceivedAt: now, ExpiresAt: now.Add(-time.Millisecond)})
	h.lastLogout(iss, "gone", "", zero, zero)
}

// testLogoutRecordExpiry: a logout record is gone at its ExpiresAt, a
// later record's longer ExpiresAt keeps it, and a later record's shorter
// ExpiresAt does not shorten it.
func testLogoutRecordExpiry(h *harness) {
	iss := h.issuer("op")
	now := h.now()
	life := h.short()
	short := sessionstore.Logout{Issuer: iss, SID: "sid-1", ReceivedAt: now, ExpiresAt: now.Add(life)}
	kept := sessionstore.Logout{Issuer: iss, SID: "sid-2", ReceivedAt: now, ExpiresAt: now.Add(life)}
	long := sessionstore.Logout{Issuer: iss, Subject: "sub-3", ReceivedAt: now, ExpiresAt: now.Add(life + time.Hour)}
	h.recordLogout(short)
	h.recordLogout(kept)
	h.recordLogout(long)
	// An earlier time with a later expiry: the times stay, the expiry moves.
	h.recordLogout(sessionstore.Logout{Issuer: iss, SID: "sid-2", ReceivedAt: now.Add(-time.Second), ExpiresAt: now.Add(life + time.Hour)})
	// A later time with an earlier expiry: the time moves, the expiry stays.
	later := now.Add(time.Millisecond)
	h.recordLogout(sessionstore.Logout{Issuer: iss, Subject: "sub-3", ReceivedAt: later, ExpiresAt: now.Add(life)})
	h.waitUntil(now.Add(life))
	var zero time.Time
	h.lastLogout(iss, "sid-1", "", zero, zero)
	h.lastLogout(iss, "sid-2", "", now, zero)
	h.lastLogout(iss, "", "sub-3", later, zero)
}
