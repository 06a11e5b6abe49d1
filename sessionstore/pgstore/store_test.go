package pgstore_test

import (
	"errors"
	"strconv"
	"strings"
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
	t.Cleanup(func() { dropTables(t, pool, odd) })
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
		if ended, err := st.DeleteBySID(ctx, "iss", "sid"); err != nil || len(ended) != 1 {
			t.Fatalf("%q: DeleteBySID = %d sessions, %v", name, len(ended), err)
		}
		if err := st.RecordLogout(ctx, sessionstore.Logout{Issuer: "iss", SID: "sid", ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatalf("%q: RecordLogout: %v", name, err)
		}
		if r, _, err := st.LastLogout(ctx, "iss", "sid", ""); err != nil || !r.Equal(now.Truncate(time.Microsecond)) {
			t.Fatalf("%q: LastLogout = %v, %v", name, r, err)
		}
	}
	longest := tempTable(t, pool)
	longest += strings.Repeat("x", 40-len(longest)) // its logout table's index name has 63 bytes
	t.Cleanup(func() { dropTables(t, pool, longest) })
	if err := pgstore.CreateSchema(ctx, pool, longest); err != nil {
		t.Errorf("CreateSchema with a 40-byte name: %v", err)
	}
	for _, name := range []string{"a.b.c", ".x", "x.", "nul\x00", string(make([]byte, 45)), strings.Repeat("x", 41)} {
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

// TestDeleteExpired removes expired sessions and logout records only.
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
	for i, life := range []time.Duration{time.Minute, time.Hour} {
		l := sessionstore.Logout{Issuer: "iss", SID: "sid-" + strconv.Itoa(i), ReceivedAt: now, ExpiresAt: now.Add(life)}
		if err := st.RecordLogout(t.Context(), l); err != nil {
			t.Fatal(err)
		}
	}
	// An already expired record is not written at all.
	if err := st.RecordLogout(t.Context(), sessionstore.Logout{Issuer: "iss", SID: "gone", ReceivedAt: now, ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteExpired(t.Context()); err != nil || n != 0 {
		t.Fatalf("DeleteExpired before expiry = %d, %v; want 0", n, err)
	}
	clock.Advance(time.Minute)
	if n, err := st.DeleteExpired(t.Context()); err != nil || n != 3 {
		t.Fatalf("DeleteExpired = %d, %v; want 3 (two sessions, one logout record)", n, err)
	}
	for _, tbl := range []string{table, table + "_logouts"} {
		var rows int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+pgxIdent(tbl)).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("rows left in %s = %d, %v; want 1", tbl, rows, err)
		}
	}
	if r, _, err := st.LastLogout(t.Context(), "iss", "sid-1", ""); err != nil || !r.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("the live logout record: LastLogout = %v, %v", r, err)
	}
}
