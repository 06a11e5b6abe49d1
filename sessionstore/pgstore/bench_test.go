package pgstore_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
)

// benchSession returns a session like one the middleware stores.
func benchSession(id, sub, sid string) *sessionstore.Session {
	now := time.Now()
	return &sessionstore.Session{
		ID: id, Issuer: "https://op.example", Subject: sub, SID: sid,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Data: sessionstore.Data{
			IDToken:      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
			RefreshToken: "refresh-token",
			Values:       map[string]string{"name": "Ada"},
		},
	}
}

func benchStore(b *testing.B) *pgstore.Store {
	pool := testPool(b)
	table := tempTable(b, pool)
	if err := pgstore.CreateSchema(b.Context(), pool, table); err != nil {
		b.Fatal(err)
	}
	return newStore(b, pgstore.Config{Pool: pool, Table: table})
}

func BenchmarkGet(b *testing.B) {
	st := benchStore(b)
	s := benchSession("id", "alice", "sid")
	if err := st.Create(b.Context(), s); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := st.Get(b.Context(), s.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	st := benchStore(b)
	i := 0
	for b.Loop() {
		i++
		n := strconv.Itoa(i)
		if err := st.Create(b.Context(), benchSession("id-"+n, "user-"+n, "sid-"+n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeleteBySID ends one session per operation (Create is not timed).
func BenchmarkDeleteBySID(b *testing.B) {
	st := benchStore(b)
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		n := strconv.Itoa(i)
		if err := st.Create(b.Context(), benchSession("id-"+n, "user-"+n, "sid-"+n)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if got, err := st.DeleteBySID(b.Context(), "https://op.example", "sid-"+n); err != nil || got != 1 {
			b.Fatalf("DeleteBySID = %d, %v", got, err)
		}
	}
}
