package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/oidc-slo/slo/sessionstore"
)

// Call is one call to a store, for Unavailable.
type Call struct {
	Name string
	Call func(context.Context) error
}

// Unavailable checks that a store whose server is down fails every call
// with a real error: not success, and not ErrNotFound or ErrExists, which
// callers would take as an answer. live is a session that existed before the
// outage. It checks the Store methods (RecordLogout and LastLogout
// included), DeleteBySIDAndSubject when st implements
// [sessionstore.SIDSubjectDeleter], and extra calls (a backend's own
// methods, its SingleUse) as given.
func Unavailable(t *testing.T, st sessionstore.Store, live *sessionstore.Session, extra ...Call) {
	t.Helper()
	fresh := live.Clone()
	fresh.ID += "-new"
	calls := []Call{
		{"Get", func(ctx context.Context) error { _, err := st.Get(ctx, live.ID); return err }},
		{"Create", func(ctx context.Context) error { return st.Create(ctx, fresh) }},
		{"Update", func(ctx context.Context) error { return st.Update(ctx, live) }},
		{"Delete", func(ctx context.Context) error { _, err := st.Delete(ctx, live.ID); return err }},
		{"DeleteBySID", func(ctx context.Context) error {
			_, err := st.DeleteBySID(ctx, live.Issuer, live.SID)
			return err
		}},
		{"DeleteBySubject", func(ctx context.Context) error {
			_, err := st.DeleteBySubject(ctx, live.Issuer, live.Subject)
			return err
		}},
		{"RecordLogout", func(ctx context.Context) error {
			return st.RecordLogout(ctx, sessionstore.Logout{Issuer: live.Issuer, SID: live.SID, Subject: live.Subject,
				ReceivedAt: live.CreatedAt, ExpiresAt: live.ExpiresAt})
		}},
		{"LastLogout", func(ctx context.Context) error {
			_, _, err := st.LastLogout(ctx, live.Issuer, live.SID, live.Subject)
			return err
		}},
	}
	if d, ok := st.(sessionstore.SIDSubjectDeleter); ok {
		calls = append(calls, Call{"DeleteBySIDAndSubject", func(ctx context.Context) error {
			_, err := d.DeleteBySIDAndSubject(ctx, live.Issuer, live.SID, live.Subject)
			if errors.Is(err, sessionstore.ErrSubjectMismatch) {
				return nil // an answer, not a connection error
			}
			return err
		}})
	}
	for _, c := range append(calls, extra...) {
		err := c.Call(t.Context())
		if err == nil || errors.Is(err, sessionstore.ErrNotFound) || errors.Is(err, sessionstore.ErrExists) {
			t.Errorf("%s with the server down = %v, want a connection error", c.Name, err)
		}
	}
}
