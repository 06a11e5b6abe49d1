package rp_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

// TestKeySetMaxAge checks that cached keys are trusted for a maximum age
// only: the JWKS response's Cache-Control max-age within [1 min,
// Config.JWKSMaxAge], Config.JWKSMaxAge (default 24 h) without one. The
// next verification after that refetches, so a key the OP removed stops
// verifying.
func TestKeySetMaxAge(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		age          string
		maxAge       time.Duration // Config.JWKSMaxAge
		want         time.Duration
	}{
		{"default", "", "", 0, rp.DefaultJWKSMaxAge},
		{"max-age", "public, max-age=300", "", 0, 5 * time.Minute},
		{"max-age minus Age", "max-age=600", "120", 0, 8 * time.Minute},
		{"max-age below the floor", "max-age=5", "", 0, time.Minute},
		{"no-cache", "no-cache", "", 0, time.Minute},
		{"no-store wins over max-age", "max-age=600, no-store", "", 0, time.Minute},
		{"malformed max-age", "max-age=soon", "", 0, time.Minute},
		{"max-age above the cap", "MAX-AGE=31536000", "", 0, rp.DefaultJWKSMaxAge},
		{"configured cap", "max-age=86400", "", time.Hour, time.Hour},
		{"configured cap without header", "", "", 2 * time.Hour, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.mu.Lock()
			op.jwksCache, op.jwksAge = tt.cacheControl, tt.age
			op.mu.Unlock()
			ks := op.client(t, func(cfg *rp.Config) { cfg.JWKSMaxAge = tt.maxAge }).Keys()
			k1 := op.sign(op.claims("n"), signOpts{})
			verify := func(wantFetches int32) {
				t.Helper()
				if _, err := ks.VerifySignature(t.Context(), k1); err != nil {
					t.Fatal(err)
				}
				if got := op.jwksHits.Load(); got != wantFetches {
					t.Fatalf("%d JWKS fetches, want %d", got, wantFetches)
				}
			}
			verify(1)
			op.clock.Advance(tt.want - time.Second)
			verify(1) // still fresh
			op.clock.Advance(time.Second)
			verify(2) // expired: refetched on this verification

			// The OP removes k1; once the refetched set expires, k1 tokens
			// are refused.
			newKey := rsaKey(t)
			op.setJWKS([]jose.JSONWebKey{{Key: newKey.Public(), KeyID: "k2", Algorithm: "RS256", Use: "sig"}}, tt.cacheControl, false)
			op.clock.Advance(tt.want)
			if _, err := ks.VerifySignature(t.Context(), k1); err == nil || !strings.Contains(err.Error(), `no key with kid "k1"`) {
				t.Fatalf("removed key: error = %v", err)
			}
			if _, err := ks.VerifySignature(t.Context(), op.sign(op.claims("n"), signOpts{key: newKey, kid: "k2"})); err != nil {
				t.Fatalf("new key: %v", err)
			}
			if got := op.jwksHits.Load(); got != 3 {
				t.Fatalf("%d JWKS fetches, want 3", got)
			}
		})
	}
}

// TestKeySetStaleGrace checks a failed refetch of expired keys: the old
// keys keep verifying, logged at Error, for one more maximum age, then
// verification fails until a fetch succeeds again.
func TestKeySetStaleGrace(t *testing.T) {
	op := newFakeOP(t)
	logs := &logRecorder{}
	ks := op.client(t, func(cfg *rp.Config) {
		cfg.JWKSMaxAge = time.Hour
		cfg.Logger = slog.New(logs)
	}).Keys()
	tok := op.sign(op.claims("n"), signOpts{})
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	op.setJWKS(op.jwks, "", true)

	op.clock.Advance(time.Hour) // expired; the refetch fails
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatalf("within the grace period: %v", err)
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Fatalf("%d JWKS fetches, want 2", got)
	}
	recs := logs.find(slog.LevelError, "JWKS")
	if len(recs) != 1 {
		t.Fatalf("%d JWKS errors logged, want 1", len(recs))
	}
	// Within MinJWKSRefresh of the failed fetch: no new fetch, old keys.
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil || op.jwksHits.Load() != 2 {
		t.Fatalf("rate-limited: %v, %d fetches", err, op.jwksHits.Load())
	}
	op.clock.Advance(time.Hour - time.Second)
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatalf("end of the grace period: %v", err)
	}
	op.clock.Advance(time.Second)
	_, err := ks.VerifySignature(t.Context(), tok)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("after the grace period: error = %v, want the fetch error", err)
	}
	// Rate-limited again: still refused without a fetch.
	n := op.jwksHits.Load()
	if _, err := ks.VerifySignature(t.Context(), tok); err == nil || op.jwksHits.Load() != n {
		t.Fatalf("rate-limited after the grace period: %v, %d fetches", err, op.jwksHits.Load()-n)
	}
	// The JWKS comes back.
	op.setJWKS(op.jwks, "", false)
	op.clock.Advance(rp.MinJWKSRefresh)
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestKeySetExpiredRefetchShared checks that concurrent verifications
// after the maximum age share one refetch.
func TestKeySetExpiredRefetchShared(t *testing.T) {
	op := newFakeOP(t)
	ks := op.client(t).Keys()
	tok := op.sign(op.claims("n"), signOpts{})
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	op.clock.Advance(rp.DefaultJWKSMaxAge)
	const n = 16
	verifyConcurrently(t, op, ks, tok, n)
	if got := op.jwksHits.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refetch for %d callers)", got, n)
	}
}

func TestJWKSMaxAgeConfig(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 30 * time.Second} {
		cfg := rp.Config{Issuer: "https://op.example", ClientID: "app", RedirectURL: "https://app.example/cb", JWKSMaxAge: d}
		_, err := rp.New(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "rp: JWKSMaxAge must be at least 1m0s") {
			t.Errorf("JWKSMaxAge %v: error = %v", d, err)
		}
	}
}
