package rp_test

import (
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify compares KeySet's cached fast path (Parse + Verify) with
// go-jose parsing and verifying against a known key, the floor any
// verifier pays (the back-channel handler's budget is 1.2x the latter), and
// with go-oidc's RemoteKeySet on the same JWKS, the well-kept package
// KeySet is written instead of (BENCHMARKS.md).
func BenchmarkVerify(b *testing.B) {
	op := newFakeOP(b)
	ks := op.client(b).Keys()
	tok := op.sign(op.claims("n"), signOpts{})
	if _, err := ks.VerifySignature(b.Context(), tok); err != nil { // warm the cache
		b.Fatal(err)
	}
	pub := op.key.Public()
	algs := []jose.SignatureAlgorithm{jose.RS256}

	b.Run("jose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(tok, algs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-oidc-remote", func(b *testing.B) {
		b.ReportAllocs()
		ctx := b.Context()
		remote := oidc.NewRemoteKeySet(ctx, op.issuer+"/jwks")
		if _, err := remote.VerifySignature(ctx, tok); err != nil { // warm its cache
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := remote.VerifySignature(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a verifier that must read the JWS header and claims itself (as
	// logout's does) pays with RemoteKeySet, which takes the raw token:
	// two parses.
	b.Run("parse+go-oidc-remote", func(b *testing.B) {
		b.ReportAllocs()
		ctx := b.Context()
		remote := oidc.NewRemoteKeySet(ctx, op.issuer+"/jwks")
		if _, err := remote.VerifySignature(ctx, tok); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := jose.ParseSignedCompact(tok, algs); err != nil {
				b.Fatal(err)
			}
			if _, err := remote.VerifySignature(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyset", func(b *testing.B) {
		b.ReportAllocs()
		ctx := b.Context()
		for b.Loop() {
			jws, err := ks.Parse(tok)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ks.Verify(ctx, jws); err != nil {
				b.Fatal(err)
			}
		}
	})
}
