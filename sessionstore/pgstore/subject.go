package pgstore

import (
	"context"
	"fmt"

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
func (st *Store) DeleteBySIDAndSubject(ctx context.Context, issuer, sid, subject string) (int, error) {
	if sid == "" {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", err)
		}
		return 0, nil
	}
	var (
		mismatch bool
		n        int
	)
	err := st.pool.QueryRow(ctx, st.sql.deleteBySIDAndSubject, pgx.NamedArgs{
		"issuer": issuer, "sid": sid, "subject": subject, "now": st.now(),
	}).Scan(&mismatch, &n)
	switch {
	case err != nil:
		return 0, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", err)
	case mismatch:
		return 0, fmt.Errorf("pgstore: delete sessions by sid and subject: %w", sessionstore.ErrSubjectMismatch)
	}
	return n, nil
}
