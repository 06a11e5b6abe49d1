package memstore

import (
	"context"
	"fmt"

	"github.com/oidc-slo/slo/sessionstore"
)

var _ sessionstore.SIDSubjectDeleter = (*Store)(nil)

// DeleteBySIDAndSubject implements [sessionstore.SIDSubjectDeleter]. The
// check and the removal run under one hold of the store's lock, so they are
// atomic with respect to every other method. Like DeleteBySID it also drops
// expired sessions of the sid, whatever their subject, and returns only
// live ones.
func (s *Store) DeleteBySIDAndSubject(ctx context.Context, issuer, sid, subject string) ([]*sessionstore.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	if sid == "" {
		return nil, nil
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.reclaim(now)
	for y := s.head(issuer, sid, kindSID).ref; y != 0; {
		r := s.recs.at(y)
		if r.expires > now && !r.keyIs(kindSub, subject) {
			return nil, sessionstore.ErrSubjectMismatch
		}
		y = r.next[kindSID.list()]
	}
	return s.deleteListLocked(issuer, sid, kindSID, now), nil
}
