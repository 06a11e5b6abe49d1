package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oidc-slo/slo/sessionstore"
)

var _ sessionstore.SIDSubjectDeleter = (*Store)(nil)

// DeleteBySIDAndSubject implements sessionstore.SIDSubjectDeleter with one
// statement (one round trip): a CTE checks for a live session of (issuer,
// sid) with another subject and, only if there is none, deletes the sid's
// rows (expired rows of other subjects included, as DeleteBySID does, but
// counting only live ones); the statement returns both the verdict and the
// count, so a mismatch is told from "nothing there" without a second query.
//
// The check and the delete read one snapshot, so the step is atomic with
// respect to the store's other statements: a session created by a
// transaction that commits after the statement started is neither seen by
// the check nor deleted (it is linearised after the logout), and a row that
// a concurrent Create turns into a live session of another subject is
// re-checked by PostgreSQL and left alone.
func (st *Store) DeleteBySIDAndSubject(ctx context.Context, issuer, sid, subject string) ([]*sessionstore.Session, error) {
	if sid == "" {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", err)
		}
		return nil, nil
	}
	ss, mismatch, err := st.deleteChecked(ctx, pgx.NamedArgs{"issuer": issuer, "sid": sid, "subject": subject, "now": st.now()})
	switch {
	case err != nil:
		return nil, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", err)
	case mismatch:
		return nil, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", sessionstore.ErrSubjectMismatch)
	}
	return ss, nil
}

// deleteChecked runs the statement of DeleteBySIDAndSubject. It always
// returns a row with the verdict: with the columns of a live session it
// deleted, or with NULLs when it deleted none.
func (st *Store) deleteChecked(ctx context.Context, args pgx.NamedArgs) ([]*sessionstore.Session, bool, error) {
	rows, err := st.pool.Query(ctx, st.sql.deleteBySIDAndSubject, args)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var ss []*sessionstore.Session
	mismatch := false
	for rows.Next() {
		var (
			id, iss, sub, sid *string
			created, expires  *time.Time
			data              []byte
		)
		if err := rows.Scan(&mismatch, &id, &iss, &sub, &sid, &created, &expires, &data); err != nil {
			return nil, false, err
		}
		if id == nil {
			continue
		}
		s := &sessionstore.Session{ID: *id, Issuer: *iss, Subject: *sub, SID: *sid, CreatedAt: *created, ExpiresAt: *expires}
		if err := json.Unmarshal(data, &s.Data); err != nil {
			return nil, false, fmt.Errorf("decode data: %w", err)
		}
		ss = append(ss, s)
	}
	return ss, mismatch, rows.Err()
}
