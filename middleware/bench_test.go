package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// discardWriter is a ResponseWriter that allocates nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRequireLogin measures an authenticated request through
// RequireLogin (memstore) and reports, beside ns/op and allocs/op, the
// allocations it adds to the bare handler ("extra-allocs/op"; target ≤ 8).
func BenchmarkRequireLogin(b *testing.B) {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	client, err := rp.New(b.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/callback",
	})
	if err != nil {
		b.Fatal(err)
	}
	store := memstore.New(memstore.Config{})
	m, err := middleware.New(middleware.Config{Client: client, Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	const token = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	now := time.Now()
	err = store.Create(b.Context(), &sessionstore.Session{
		ID: middleware.SessionID(token), Issuer: op.Issuer(), Subject: "alice", SID: "sid-1",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Data: sessionstore.Data{IDToken: "x.y.z", AccessToken: "at"},
	})
	if err != nil {
		b.Fatal(err)
	}

	var served int
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		io.WriteString(w, "ok")
	})
	wrapped := m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.SessionFromContext(r.Context()); !ok {
			b.Fatal("no session")
		}
		bare(w, r)
	}))
	req := httptest.NewRequest(http.MethodGet, "/private", nil)
	req.Header.Set("Cookie", "theme=dark; slo="+token+"; lang=en")
	w := &discardWriter{h: http.Header{}}

	bareAllocs := testing.AllocsPerRun(1000, func() { bare(w, req) })
	wrappedAllocs := testing.AllocsPerRun(1000, func() { wrapped.ServeHTTP(w, req) })
	b.ReportAllocs()
	for b.Loop() {
		wrapped.ServeHTTP(w, req)
	}
	b.ReportMetric(wrappedAllocs-bareAllocs, "extra-allocs/op")
	if served == 0 {
		b.Fatal("handler never ran")
	}
}
