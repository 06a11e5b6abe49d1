package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oidc-slo/slo/sessionstore"
)

// RecordLogout implements [sessionstore.Store] with one upsert into the
// logout table: the record of (issuer, sid), or of (issuer, subject) when
// l.SID is empty. A live record keeps the later of each time and of the
// expiry (GREATEST), so concurrent logouts of one OP session, which
// serialise on its row, never move it back. Times are kept to the
// microsecond. The record is not a session: it lives in its own table.
func (st *Store) RecordLogout(ctx context.Context, l sessionstore.Logout) error {
	kind, value := "sid", l.SID
	if l.SID == "" {
		kind, value = "sub", l.Subject
	}
	if value == "" {
		return errors.New("pgstore: RecordLogout needs a SID or a Subject")
	}
	_, err := st.pool.Exec(ctx, st.sql.recordLogout, pgx.NamedArgs{
		"issuer": l.Issuer, "kind": kind, "value": value,
		"received_at": nullTime(l.ReceivedAt), "issued_at": nullTime(l.IssuedAt),
		"expires_at": l.ExpiresAt, "now": st.now(),
	})
	if err != nil {
		return fmt.Errorf("pgstore: record logout: %w", err)
	}
	return nil
}

// LastLogout implements [sessionstore.Store] with one SELECT over the live
// records of (issuer, sid) and (issuer, subject). Without a sid and a
// subject it asks nothing.
func (st *Store) LastLogout(ctx context.Context, issuer, sid, subject string) (time.Time, time.Time, error) {
	var zero time.Time
	if err := ctx.Err(); err != nil {
		return zero, zero, fmt.Errorf("pgstore: last logout: %w", err)
	}
	if sid == "" && subject == "" {
		return zero, zero, nil
	}
	var received, issued *time.Time
	err := st.pool.QueryRow(ctx, st.sql.lastLogout, pgx.NamedArgs{
		"issuer": issuer, "sid": sid, "subject": subject, "now": st.now(),
	}).Scan(&received, &issued)
	if err != nil {
		return zero, zero, fmt.Errorf("pgstore: last logout: %w", err)
	}
	return fromNull(received), fromNull(issued), nil
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull is the inverse of nullTime, in UTC.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
