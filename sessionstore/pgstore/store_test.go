package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

func newStore(t testing.TB, cfg pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(cfg)
	if err != nil {
		t.Fatalf("pgstore.New: %v", err)
	}
	return s
}

// TestStore runs the conformance suite, once with an injected clock and once
// on the wall clock.
func TestStore(t *testing.T) {
	pool := testPool(t)
	table := tempTable(t, pool)
	if err := pgstore.CreateSchema(t.Context(), pool, table); err != nil {
		t.Fatal(err)
	}
	t.Run("FakeClock", func(t *testing.T) {
		clock := storetest.NewClock(time.Now())
		storetest.Run(t, storetest.Config{
			New: func(t *testing.T) sessionstore.Store {
				return newStore(t, pgstore.Config{Pool: pool, Table: table, Now: clock.Now})
			},
			Now:     clock.Now,
			Advance: clock.Advance,
		})
	})
	t.Run("WallClock", func(t *testing.T) {
		storetest.Run(t, storetest.Config{
			New: func(t *testing.T) sessionstore.Store {
				return newStore(t, pgstore.Config{Pool: pool, Table: table})
			},
		})
	})
}

// TestTableNames: odd but valid names are quoted, schema-qualified names
// work, and invalid names are refused by New and CreateSchema.
func TestTableNames(t *testing.T) {
	pool := testPool(t)
	ctx := t.Context()
	odd := tempTable(t, pool) + `"; DROP TABLE x; --`
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgxIdent(odd)); err != nil {
			t.Errorf("dropping %q: %v", odd, err)
		}
	})
	for _, name := range []string{odd, "public." + tempTable(t, pool)} {
		if err := pgstore.CreateSchema(ctx, pool, name); err != nil {
			t.Fatalf("CreateSchema(%q): %v", name, err)
		}
		if err := pgstore.CreateSchema(ctx, pool, name); err != nil {
			t.Fatalf("CreateSchema(%q) again: %v", name, err)
		}
		st := newStore(t, pgstore.Config{Pool: pool, Table: name})
		now := time.Now()
		s := &sessionstore.Session{ID: "id", Issuer: "iss", Subject: "sub", SID: "sid", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.Create(ctx, s); err != nil {
			t.Fatalf("%q: Create: %v", name, err)
		}
		if n, err := st.DeleteBySID(ctx, "iss", "sid"); err != nil || n != 1 {
			t.Fatalf("%q: DeleteBySID = %d, %v", name, n, err)
		}
	}
	for _, name := range []string{"a.b.c", ".x", "x.", "nul\x00", string(make([]byte, 45))} {
		if _, err := pgstore.New(pgstore.Config{Pool: pool, Table: name}); err == nil {
			t.Errorf("New with table %q succeeded", name)
		}
		if err := pgstore.CreateSchema(ctx, pool, name); err == nil {
			t.Errorf("CreateSchema with table %q succeeded", name)
		}
	}
	if _, err := pgstore.New(pgstore.Config{}); err == nil {
		t.Error("New without a Pool succeeded")
	}
}

// TestUpdateIdentity: Update refuses to change a session's identity and
// writes nothing.
func TestUpdateIdentity(t *testing.T) {
	pool := testPool(t)
	table := tempTable(t, pool)
	if err := pgstore.CreateSchema(t.Context(), pool, table); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, pgstore.Config{Pool: pool, Table: table})
	now := time.Now()
	s := &sessionstore.Session{ID: "id", Issuer: "iss", Subject: "sub", SID: "sid", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	u := s.Clone()
	u.SID = "other"
	u.Data.RefreshToken = "changed"
	if err := st.Update(t.Context(), u); err == nil || errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("Update with another sid = %v, want an identity error", err)
	}
	if got, err := st.Get(t.Context(), s.ID); err != nil || got.Data.RefreshToken != "" || got.SID != "sid" {
		t.Fatalf("after refused Update: Get = %+v, %v", got, err)
	}
}

// TestDeleteExpired removes expired rows only.
func TestDeleteExpired(t *testing.T) {
	pool := testPool(t)
	table := tempTable(t, pool)
	if err := pgstore.CreateSchema(t.Context(), pool, table); err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(time.Now())
	st := newStore(t, pgstore.Config{Pool: pool, Table: table, Now: clock.Now})
	now := clock.Now()
	for i, life := range []time.Duration{time.Minute, time.Minute, time.Hour} {
		s := &sessionstore.Session{ID: string(rune('a' + i)), Issuer: "iss", Subject: "sub", CreatedAt: now, ExpiresAt: now.Add(life)}
		if err := st.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.DeleteExpired(t.Context()); err != nil || n != 0 {
		t.Fatalf("DeleteExpired before expiry = %d, %v; want 0", n, err)
	}
	clock.Advance(time.Minute)
	if n, err := st.DeleteExpired(t.Context()); err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
	}
	var rows int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+pgxIdent(table)).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("rows left = %d, %v; want 1", rows, err)
	}
}
