package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// Benchmark runs the standard store benchmarks as sub-benchmarks of b:
// Get (one session looked up again and again), Create (new sessions of
// distinct users) and DeleteBySID (one session ended per operation; its
// Create is not timed). newStore returns an empty, isolated store.
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Benchmark(b, func(b *testing.B) sessionstore.Store { return newStore(b) })
//	}
func Benchmark(b *testing.B, newStore func(b *testing.B) sessionstore.Store) {
	const iss = "https://op.example"
	session := func(n string) *sessionstore.Session {
		now := time.Now()
		return &sessionstore.Session{
			ID: "id-" + n, Issuer: iss, Subject: "user-" + n, SID: "sid-" + n,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			Data: sessionstore.Data{
				IDToken:      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
				RefreshToken: "refresh-token",
				Values:       map[string]string{"name": "Ada"},
			},
		}
	}
	b.Run("Get", func(b *testing.B) {
		st := newStore(b)
		s := session("0")
		if err := st.Create(b.Context(), s); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.Get(b.Context(), s.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Create", func(b *testing.B) {
		st := newStore(b)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if err := st.Create(b.Context(), session(strconv.Itoa(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DeleteBySID", func(b *testing.B) {
		st := newStore(b)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			i++
			n := strconv.Itoa(i)
			if err := st.Create(b.Context(), session(n)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if got, err := st.DeleteBySID(b.Context(), iss, "sid-"+n); err != nil || len(got) != 1 {
				b.Fatalf("DeleteBySID = %d sessions, %v", len(got), err)
			}
		}
	})
}
