package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// A logout from the OP can arrive while a login of the same OP session is
// between its code exchange and the creation of its session: the logout
// finds nothing to end, and the login would then create a session for an OP
// session that has already ended. To close that window, the back-channel
// handler reaches the store through endingStore, which, before
// it ends the sessions of (iss, sid), leaves a marker in the store saying
// that this OP session ended; and the callback, after it created a session,
// looks for the marker and ends the new session if it finds one. Whatever
// the interleaving, one of the two sees the other: the marker is written
// before the logout's delete, and the login's check comes after its create.
//
// A marker is a record of the Store under an id no cookie can hash to and
// an issuer of its own, so no index delete of a real issuer counts it. It
// lives for LoginTimeout: a login that started earlier has expired anyway.
// A login whose ID token was issued after the marker is a new one and is
// never refused. Only signed back-channel logouts leave markers: the
// front channel takes unauthenticated sids, and a flood of made-up ones
// would fill the store.

// endedIssuerPrefix marks the issuer of ended-session markers.
const endedIssuerPrefix = "slo-ended "

// endedID returns the store id of the marker for (iss, sid).
func endedID(iss, sid string) string {
	sum := sha256.Sum256([]byte(iss + "\x00" + sid))
	return "ended:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// markEnded records that the OP ended (iss, sid).
func (m *Middleware) markEnded(ctx context.Context, iss, sid string) error {
	if sid == "" {
		return nil
	}
	now := m.now()
	err := m.store.Create(ctx, &sessionstore.Session{
		ID:        endedID(iss, sid),
		Issuer:    endedIssuerPrefix + iss,
		Subject:   "ended",
		CreatedAt: now,
		ExpiresAt: now.Add(m.loginTTL),
	})
	if err != nil && !errors.Is(err, sessionstore.ErrExists) {
		return fmt.Errorf("middleware: recording the end of an OP session: %w", err)
	}
	return nil
}

// endedBefore reports whether the OP ended (iss, sid) after issued, the
// time the login's ID token was issued: then the login was under way when
// the logout came. A login whose ID token is younger than the logout is a
// new one and stands, for OPs that end one client's sessions of an OP
// session and let the user sign in again within it.
func (m *Middleware) endedBefore(ctx context.Context, iss, sid string, issued time.Time) (bool, error) {
	if sid == "" {
		return false, nil
	}
	marker, err := m.store.Get(ctx, endedID(iss, sid))
	switch {
	case errors.Is(err, sessionstore.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return !issued.After(marker.CreatedAt), nil
}

// endingStore is the store the back-channel handler uses: it marks an OP session
// ended before ending its sessions.
type endingStore struct {
	sessionstore.Store
	m *Middleware
}

// DeleteBySID implements sessionstore.Store.
func (s endingStore) DeleteBySID(ctx context.Context, iss, sid string) (int, error) {
	if err := s.m.markEnded(ctx, iss, sid); err != nil {
		return 0, err
	}
	return s.Store.DeleteBySID(ctx, iss, sid)
}

// endingSubjectStore is an endingStore over a store that can refuse a sid
// of another subject (sessionstore.SIDSubjectDeleter).
type endingSubjectStore struct {
	endingStore
	d sessionstore.SIDSubjectDeleter
}

// DeleteBySIDAndSubject implements sessionstore.SIDSubjectDeleter. A refused
// logout takes its marker back.
func (s endingSubjectStore) DeleteBySIDAndSubject(ctx context.Context, iss, sid, sub string) (int, error) {
	if err := s.m.markEnded(ctx, iss, sid); err != nil {
		return 0, err
	}
	n, err := s.d.DeleteBySIDAndSubject(ctx, iss, sid, sub)
	if errors.Is(err, sessionstore.ErrSubjectMismatch) {
		s.Store.Delete(ctx, endedID(iss, sid))
	}
	return n, err
}

// endingStore returns the store to hand to the back-channel handler.
func (m *Middleware) endingStore() sessionstore.Store {
	s := endingStore{Store: m.store, m: m}
	if d, ok := m.store.(sessionstore.SIDSubjectDeleter); ok {
		return endingSubjectStore{endingStore: s, d: d}
	}
	return s
}
