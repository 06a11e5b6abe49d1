package logout

import (
	"testing"
)

// TestVerifyB35SharedDecryptionKey is B-35: two OPs whose providers decrypt
// with the same relying-party key, and a JWE without "iss" in its protected
// header (replicating it there is only a SHOULD). The token is bound to the
// provider its verified inner iss names, among those that can decrypt it.
func TestVerifyB35SharedDecryptionKey(t *testing.T) {
	k := keys()
	bothDecrypt := sharedDecryption
	onlyADecrypts := func(c *VerifierConfig) {
		c.Providers[0].Decrypt = decrypter(k.rsaEnc)
		c.Providers[0].EncryptionRequired = true
	}
	bInner := func(t testing.TB) string {
		return tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: validClaims(issB, clientB)}.mint(t)
	}
	cases := []struct {
		name    string
		token   func(t testing.TB) string
		mod     func(*VerifierConfig)
		wantIss string // "" means refused with reason
		reason  Reason
	}{
		{"B-35 second OP, no iss header", func(t testing.TB) string {
			return encrypt(t, bInner(t), &k.rsaEnc.PublicKey, nil)
		}, bothDecrypt, issB, ""},
		{"B-35 first OP, no iss header", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, nil)
		}, bothDecrypt, issA, ""},
		{"B-35 second OP, iss header", func(t testing.TB) string {
			return encrypt(t, bInner(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issB})
		}, bothDecrypt, issB, ""},
		{"iss header names the other OP", func(t testing.TB) string {
			return encrypt(t, bInner(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, bothDecrypt, "", ReasonUnknownIssuer},
		{"inner iss names an OP that cannot decrypt", func(t testing.TB) string {
			return encrypt(t, bInner(t), &k.rsaEnc.PublicKey, nil)
		}, onlyADecrypts, "", ReasonUnknownIssuer},
		{"second OP's token signed with the first OP's key", func(t testing.TB) string {
			return encrypt(t, tok{claims: validClaims(issB, clientB)}.mint(t), &k.rsaEnc.PublicKey, nil)
		}, bothDecrypt, "", ReasonBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.mod)
			got, err := v.Verify(t.Context(), tc.token(t))
			if tc.wantIss == "" {
				if r := reasonOf(err); r != tc.reason {
					t.Fatalf("Verify = %v, %v; want reason %q", got, err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Issuer != tc.wantIss {
				t.Errorf("Issuer = %q, want %q", got.Issuer, tc.wantIss)
			}
		})
	}
}
