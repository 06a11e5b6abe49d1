package memstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// maxLogouts bounds the logout records a Store keeps. Front-channel
// logouts are unauthenticated, so anyone can add records; when the room is
// full the oldest record is forgotten, never a logout refused.
const maxLogouts = 1 << 18

// logoutKey names the logout record of an OP session or of a subject.
type logoutKey struct {
	issuer  string
	subject bool // key is a subject, not a sid
	key     string
}

// logoutTimes are a logout record's times, in Unix nanoseconds.
type logoutTimes struct{ received, issued int64 }

// RecordLogout implements [sessionstore.Store].
func (s *Store) RecordLogout(ctx context.Context, l sessionstore.Logout) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	k := logoutKey{issuer: l.Issuer, key: l.SID}
	if l.SID == "" {
		k = logoutKey{issuer: l.Issuer, subject: true, key: l.Subject}
	}
	if k.key == "" {
		return errors.New("memstore: RecordLogout needs a SID or a Subject")
	}
	t := logoutTimes{received: unixNano(l.ReceivedAt), issued: unixNano(l.IssuedAt)}
	exp := l.ExpiresAt.UnixNano()
	now := s.now().UnixNano()
	s.logoutMu.Lock()
	defer s.logoutMu.Unlock()
	if s.logouts == nil {
		s.logouts = newExpiring[logoutKey, logoutTimes](maxLogouts)
	}
	if old, ok := s.logouts.get(k, now); ok {
		t.received = max(t.received, old.received)
		t.issued = max(t.issued, old.issued)
		if e := s.logouts.entries[k].expires; e > exp {
			exp = e
		}
	}
	if exp > now {
		s.logouts.set(k, t, exp, now)
	}
	return nil
}

// LastLogout implements [sessionstore.Store].
func (s *Store) LastLogout(ctx context.Context, issuer, sid, subject string) (time.Time, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("memstore: %w", err)
	}
	now := s.now().UnixNano()
	var t logoutTimes
	s.logoutMu.Lock()
	if s.logouts != nil {
		for _, k := range []logoutKey{{issuer, false, sid}, {issuer, true, subject}} {
			if k.key == "" {
				continue
			}
			if r, ok := s.logouts.get(k, now); ok {
				t.received = max(t.received, r.received)
				t.issued = max(t.issued, r.issued)
			}
		}
	}
	s.logoutMu.Unlock()
	return fromUnixNano(t.received), fromUnixNano(t.issued), nil
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
