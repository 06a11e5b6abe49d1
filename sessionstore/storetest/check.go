package storetest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// create stores s and fails the test if the store refuses it.
func (h *harness) create(s *sessionstore.Session) {
	h.Helper()
	if err := h.store.Create(h.Context(), s); err != nil {
		h.Fatalf("Create(%q): %v", s.ID, err)
	}
}

// has checks that Get returns exactly want.
func (h *harness) has(want *sessionstore.Session) {
	h.Helper()
	got, err := h.store.Get(h.Context(), want.ID)
	if err != nil {
		h.Errorf("Get(%q) = %v, want the session (sub %q, sid %q)", want.ID, err, want.Subject, want.SID)
		return
	}
	if d := diff(want, got); d != "" {
		h.Errorf("Get(%q) returned a different session:\n%s", want.ID, d)
	}
}

// gone checks that Get reports ErrNotFound for id.
func (h *harness) gone(id string) {
	h.Helper()
	got, err := h.store.Get(h.Context(), id)
	if !errors.Is(err, sessionstore.ErrNotFound) {
		h.Errorf("Get(%q) = %v, %v; want an error matching ErrNotFound", id, got, err)
	}
}

// deleteByID calls Delete and checks that it ended want (0 or 1) live
// sessions, and that an ended one is the session of id.
func (h *harness) deleteByID(id string, want int) *sessionstore.Session {
	h.Helper()
	s, err := h.store.Delete(h.Context(), id)
	n := 0
	if s != nil {
		n = 1
	}
	if err != nil || n != want || (s != nil && s.ID != id) {
		h.Errorf("Delete(%q) = %v, %v; want %d session(s) of that id, nil", id, s, err, want)
	}
	return s
}

// deleteBySID calls DeleteBySID and checks that it ended want live
// sessions, each of (iss, sid) and each once.
func (h *harness) deleteBySID(iss, sid string, want int) []*sessionstore.Session {
	h.Helper()
	ss, err := h.store.DeleteBySID(h.Context(), iss, sid)
	if err != nil || len(ss) != want {
		h.Errorf("DeleteBySID(%q, %q) = %d sessions, %v; want %d, nil", iss, sid, len(ss), err, want)
	}
	h.endedOf(ss, func(s *sessionstore.Session) bool { return s.Issuer == iss && s.SID == sid })
	return ss
}

// deleteBySubject calls DeleteBySubject and checks that it ended want live
// sessions, each of (iss, sub) and each once.
func (h *harness) deleteBySubject(iss, sub string, want int) []*sessionstore.Session {
	h.Helper()
	ss, err := h.store.DeleteBySubject(h.Context(), iss, sub)
	if err != nil || len(ss) != want {
		h.Errorf("DeleteBySubject(%q, %q) = %d sessions, %v; want %d, nil", iss, sub, len(ss), err, want)
	}
	h.endedOf(ss, func(s *sessionstore.Session) bool { return s.Issuer == iss && s.Subject == sub })
	return ss
}

// endedOf checks that every ended session is a distinct one that belongs.
func (h *harness) endedOf(ss []*sessionstore.Session, belongs func(*sessionstore.Session) bool) {
	h.Helper()
	seen := map[string]bool{}
	for _, s := range ss {
		if s == nil || seen[s.ID] || !belongs(s) {
			h.Errorf("an index delete returned %v: nil, repeated, or not of the index", s)
			continue
		}
		seen[s.ID] = true
	}
}

// diff describes how got differs from want, or returns "". Times are
// compared with Equal (instant only, not location or monotonic reading); a
// nil and an empty Values map are the same.
func diff(want, got *sessionstore.Session) string {
	var b strings.Builder
	str := func(name, w, g string) {
		if w != g {
			fmt.Fprintf(&b, "\t%s: got %q, want %q\n", name, g, w)
		}
	}
	tm := func(name string, w, g time.Time) {
		if !w.Equal(g) {
			fmt.Fprintf(&b, "\t%s: got %v, want %v (stores must keep at least millisecond precision)\n", name, g, w)
		}
	}
	str("ID", want.ID, got.ID)
	str("Issuer", want.Issuer, got.Issuer)
	str("Subject", want.Subject, got.Subject)
	str("SID", want.SID, got.SID)
	tm("CreatedAt", want.CreatedAt, got.CreatedAt)
	tm("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	w, g := want.Data, got.Data
	str("Data.IDToken", w.IDToken, g.IDToken)
	str("Data.AccessToken", w.AccessToken, g.AccessToken)
	str("Data.RefreshToken", w.RefreshToken, g.RefreshToken)
	tm("Data.TokenExpiry", w.TokenExpiry, g.TokenExpiry)
	str("Data.SessionState", w.SessionState, g.SessionState)
	str("Data.Claims", string(w.Claims), string(g.Claims))
	if len(w.Values) != len(g.Values) {
		fmt.Fprintf(&b, "\tData.Values: got %q, want %q\n", g.Values, w.Values)
	} else {
		for k, wv := range w.Values {
			if gv, ok := g.Values[k]; !ok || gv != wv {
				fmt.Fprintf(&b, "\tData.Values: got %q, want %q\n", g.Values, w.Values)
				break
			}
		}
	}
	return b.String()
}
