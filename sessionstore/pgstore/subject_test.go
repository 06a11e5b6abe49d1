package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// TestDeleteBySIDAndSubjectConcurrentReplace: a Create of another subject
// that replaces an expired row of the sid while DeleteBySIDAndSubject runs
// is not deleted by it. The replacing transaction holds the row lock until
// the delete is seen waiting for it, so the statement's snapshot still has
// the old (expired, matching) row and PostgreSQL must re-check the new one.
func TestDeleteBySIDAndSubjectConcurrentReplace(t *testing.T) {
	pool := testPool(t)
	table := tempTable(t, pool)
	ctx := t.Context()
	if err := pgstore.CreateSchema(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(time.Now())
	st := newStore(t, pgstore.Config{Pool: pool, Table: table, Now: clock.Now})
	now := clock.Now()
	mk := func(id, sub string, life time.Duration) *sessionstore.Session {
		return &sessionstore.Session{ID: id, Issuer: "https://op.example", Subject: sub, SID: "sid-1", CreatedAt: now, ExpiresAt: now.Add(life)}
	}
	for _, s := range []*sessionstore.Session{mk("old", "alice", time.Minute), mk("a", "alice", time.Hour)} {
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute) // "old" has expired, "a" is live

	// Replace "old" with a live session of bob, as Create's upsert does,
	// in a transaction left open.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `UPDATE `+pgxIdent(table)+` SET subject = 'bob', expires_at = @exp WHERE id = 'old'`,
		pgx.NamedArgs{"exp": clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		ended, err := st.DeleteBySIDAndSubject(ctx, "https://op.example", "sid-1", "alice")
		done <- result{len(ended), err}
	}()
	// Wait until the delete blocks on the row lock held by tx.
	for {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%mismatch%' AND datname = current_database())`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("DeleteBySIDAndSubject finished without waiting for the row lock: %d, %v", r.n, r.err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		default:
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.n != 1 {
		t.Fatalf("DeleteBySIDAndSubject = %d, %v; want 1 (alice's live session), nil", r.n, r.err)
	}
	if _, err := st.Get(ctx, "a"); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Errorf("alice's session: Get = %v, want ErrNotFound", err)
	}
	got, err := st.Get(ctx, "old")
	if err != nil || got.Subject != "bob" {
		t.Errorf("bob's session created concurrently: Get = %v, %v; want it kept", got, err)
	}
	// Now bob's live session blocks alice.
	if ended, err := st.DeleteBySIDAndSubject(ctx, "https://op.example", "sid-1", "alice"); !errors.Is(err, sessionstore.ErrSubjectMismatch) || len(ended) != 0 {
		t.Errorf("DeleteBySIDAndSubject after = %d sessions, %v; want ErrSubjectMismatch", len(ended), err)
	}
}
