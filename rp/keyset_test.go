package rp_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

func TestKeySetRotation(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	ks := c.Keys()
	ctx := t.Context()
	cl := op.claims("n")

	if _, err := ks.VerifySignature(ctx, op.sign(cl, signOpts{})); err != nil {
		t.Fatalf("first verification: %v", err)
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", got)
	}
	// Cached: no further fetch.
	for range 3 {
		if _, err := ks.VerifySignature(ctx, op.sign(cl, signOpts{})); err != nil {
			t.Fatal(err)
		}
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Fatalf("cached key refetched: %d fetches", got)
	}

	// The OP rotates to k2. The first k2 token is within MinJWKSRefresh of
	// the last fetch: no fetch, rejected.
	newKey := rsaKey(t)
	op.mu.Lock()
	op.jwks = append(op.jwks, jose.JSONWebKey{Key: newKey.Public(), KeyID: "k2", Algorithm: "RS256", Use: "sig"})
	op.mu.Unlock()
	k2 := op.sign(cl, signOpts{key: newKey, kid: "k2"})
	_, err := ks.VerifySignature(ctx, k2)
	if err == nil || !strings.Contains(err.Error(), `no key with kid "k2"`) {
		t.Fatalf("k2 within the rate limit: %v", err)
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Fatalf("rate limit ignored: %d fetches", got)
	}

	// After MinJWKSRefresh the unknown kid triggers one fetch and succeeds.
	op.clock.Advance(rp.MinJWKSRefresh)
	if _, err := ks.VerifySignature(ctx, k2); err != nil {
		t.Fatalf("k2 after refetch: %v", err)
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
	// Both keys now verify from the cache.
	for _, tok := range []string{k2, op.sign(cl, signOpts{})} {
		if _, err := ks.VerifySignature(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// A stream of tokens with unknown kids causes no further fetch.
	for i := range 5 {
		if _, err := ks.VerifySignature(ctx, op.sign(cl, signOpts{kid: "unknown" + string(rune('a'+i))})); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Fatalf("unknown kids caused %d fetches, want 2 in total", got)
	}
}

func TestKeySetConcurrentRefetchShared(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	const n = 16
	verifyConcurrently(t, op, c.Keys(), op.sign(op.claims("n"), signOpts{}), n)
	// The clock does not move, so every caller either shared the one fetch
	// or found its result in the cache.
	if got := op.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times by %d concurrent callers, want 1", got, n)
	}
}

// verifyConcurrently verifies tok in n goroutines at once, holding JWKS
// responses until all have started, and fails the test unless each
// verification succeeds.
func verifyConcurrently(t *testing.T, op *fakeOP, ks *rp.KeySet, tok string, n int) {
	t.Helper()
	block := make(chan struct{})
	op.mu.Lock()
	op.jwksBlock = block
	op.mu.Unlock()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := ks.VerifySignature(t.Context(), tok)
			errs <- err
		})
	}
	close(block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestKeySetVerifyChecks(t *testing.T) {
	op := newFakeOP(t)
	ec := ecKey(t)
	op.jwks = append(op.jwks,
		jose.JSONWebKey{Key: ec.Public(), KeyID: "ec", Use: "sig"},
		jose.JSONWebKey{Key: otherKey().Public(), KeyID: "enc", Use: "enc"},
		jose.JSONWebKey{Key: otherKey().Public(), KeyID: "ps", Algorithm: "PS256"},
	)
	c := op.client(t, func(cfg *rp.Config) { cfg.SigningAlgs = []string{"RS256", "ES256"} })
	ks := c.Keys()
	cl := op.claims("n")
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"RS256 by kid", op.sign(cl, signOpts{}), true},
		{"RS256 without kid", op.sign(cl, signOpts{noKID: true}), true},
		{"ES256 by kid", op.sign(cl, signOpts{alg: jose.ES256, key: ec, kid: "ec"}), true},
		{"ES256 without kid", op.sign(cl, signOpts{alg: jose.ES256, key: ec, noKID: true}), true},
		{"ES256 with the RSA key's kid", op.sign(cl, signOpts{alg: jose.ES256, key: ec, kid: "k1"}), false},
		{"key with use=enc", op.sign(cl, signOpts{key: otherKey(), kid: "enc"}), false},
		{"key with alg PS256 used for RS256", op.sign(cl, signOpts{key: otherKey(), kid: "ps"}), false},
		{"PS256 not configured", op.sign(cl, signOpts{alg: jose.PS256}), false},
		{"none", unsigned(cl), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := ks.VerifySignature(t.Context(), tt.tok)
			if (err == nil) != tt.ok {
				t.Fatalf("VerifySignature error = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !strings.Contains(string(payload), `"sub":"alice"`) {
				t.Fatalf("payload = %s", payload)
			}
		})
	}
	if _, err := ks.Verify(t.Context(), nil); err == nil {
		t.Error("Verify(nil) succeeded")
	}
}

func TestKeySetFetchFailure(t *testing.T) {
	op := newFakeOP(t)
	op.setMeta("jwks_uri", op.issuer+"/missing")
	c := op.client(t)
	_, err := c.Keys().VerifySignature(t.Context(), op.sign(op.claims("n"), signOpts{}))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("error = %v, want a JWKS fetch error", err)
	}
}
