package testop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/testop"
)

// header decodes the JOSE header of a compact JWS without verifying it.
func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignLogoutToken(t *testing.T) {
	op := newOP(t, testop.Config{})
	claims := op.LogoutClaims("app", "alice", "sid-1")
	raw := op.SignLogoutToken(claims)
	got, h := verify(t, op, raw)
	if h.ExtraHeaders["typ"] != "logout+jwt" || h.KeyID != op.KeyID("RS256") {
		t.Errorf("header %+v", h)
	}
	exp, iat := got["exp"].(float64), got["iat"].(float64)
	if got["aud"] != "app" || got["sub"] != "alice" || got["sid"] != "sid-1" || exp <= iat || got["jti"] == "" {
		t.Errorf("claims %v", got)
	}
	if other := op.LogoutClaims("app", "", "sid-1"); other["jti"] == claims["jti"] || other["sub"] != nil {
		t.Errorf("second LogoutClaims %v", other)
	}
}

func TestSignOptions(t *testing.T) {
	op := newOP(t, testop.Config{})
	foreign := op.ForeignKey()
	const hsSecret = "a-long-shared-secret-of-32-bytes" // go-jose refuses shorter HMAC keys
	op.AddClient(testop.Client{ID: "hs", Secret: hsSecret, RedirectURIs: []string{"http://hs.example/cb"}})
	claims := map[string]any{"iss": op.Issuer(), "sub": "alice", "aud": "app"}
	hsClaims := map[string]any{"iss": op.Issuer(), "sub": "alice", "aud": "hs"}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name       string
		opts       []testop.SignOption
		wantHeader map[string]any // nil value: must be absent
		wantParts  int
		verifyWith any // key that must verify it, if any
	}{
		{"default", nil, map[string]any{"alg": "RS256", "typ": "JWT", "kid": op.KeyID("RS256")}, 3, nil},
		{"ES256", []testop.SignOption{testop.WithAlg("ES256")}, map[string]any{"alg": "ES256", "kid": op.KeyID("ES256")}, 3, nil},
		{"HS256 with client secret", []testop.SignOption{testop.WithAlg("HS256")}, map[string]any{"alg": "HS256", "kid": nil}, 3, []byte(hsSecret)},
		{"HS256 keyed with bytes", []testop.SignOption{testop.WithKey([]byte(hsSecret + "x"))}, map[string]any{"alg": "HS256"}, 3, []byte(hsSecret + "x")},
		{"none", []testop.SignOption{testop.WithAlg("none")}, map[string]any{"alg": "none"}, 3, nil},
		{"foreign key", []testop.SignOption{testop.WithKey(foreign)}, map[string]any{"alg": "RS256", "kid": foreign.KeyID}, 3, foreign.Key.(*rsa.PrivateKey).Public()},
		{"foreign key posing as published kid", []testop.SignOption{testop.WithKey(foreign), testop.WithHeader("kid", op.KeyID("RS256"))}, map[string]any{"kid": op.KeyID("RS256")}, 3, foreign.Key.(*rsa.PrivateKey).Public()},
		{"raw EC key", []testop.SignOption{testop.WithKey(ecKey)}, map[string]any{"alg": "ES256", "kid": nil}, 3, &ecKey.PublicKey},
		{"no kid", []testop.SignOption{testop.WithoutKID()}, map[string]any{"kid": nil}, 3, nil},
		{"extra headers", []testop.SignOption{testop.WithHeader("crit", []string{"x"}), testop.WithHeader("typ", nil), testop.WithHeader("jku", "http://evil.example/jwks")},
			map[string]any{"crit": []any{"x"}, "typ": nil, "jku": "http://evil.example/jwks"}, 3, nil},
		{"lying alg header", []testop.SignOption{testop.WithHeader("alg", "ES256")}, map[string]any{"alg": "ES256", "kid": op.KeyID("RS256")}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claims
			if strings.HasPrefix(tt.name, "HS256") {
				c = hsClaims
			}
			raw := op.SignIDToken(c, tt.opts...)
			if n := strings.Count(raw, ".") + 1; n != tt.wantParts {
				t.Fatalf("%d parts", n)
			}
			h := header(t, raw)
			for k, v := range tt.wantHeader {
				got, ok := h[k]
				if v == nil && ok {
					t.Errorf("header %s = %v, want absent", k, got)
				}
				if v != nil {
					gb, _ := json.Marshal(got)
					wb, _ := json.Marshal(v)
					if string(gb) != string(wb) {
						t.Errorf("header %s = %s, want %s", k, gb, wb)
					}
				}
			}
			if tt.name == "none" && !strings.HasSuffix(raw, ".") {
				t.Errorf("alg none token has a signature: %s", raw)
			}
			if tt.verifyWith != nil {
				jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.HS256})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := jws.Verify(tt.verifyWith); err != nil {
					t.Errorf("verify: %v", err)
				}
			}
		})
	}
}

func TestSignWithEncryption(t *testing.T) {
	op := newOP(t, testop.Config{})
	rp, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw := op.SignLogoutToken(op.LogoutClaims("app", "alice", ""),
		testop.WithEncryption(&rp.PublicKey, jose.ECDH_ES_A128KW, jose.A128GCM))
	if strings.Count(raw, ".") != 4 {
		t.Fatalf("not a compact JWE: %s", raw)
	}
	jwe, err := jose.ParseEncryptedCompact(raw, []jose.KeyAlgorithm{jose.ECDH_ES_A128KW}, []jose.ContentEncryption{jose.A128GCM})
	if err != nil {
		t.Fatal(err)
	}
	if jwe.Header.ExtraHeaders["cty"] != "JWT" || jwe.Header.ExtraHeaders["iss"] != op.Issuer() {
		t.Errorf("JWE header %+v", jwe.Header.ExtraHeaders)
	}
	inner, err := jwe.Decrypt(rp)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := verify(t, op, string(inner)); c["sub"] != "alice" {
		t.Errorf("inner claims %v", c)
	}
}

func TestIDTokenHookAndSignOptions(t *testing.T) {
	op := newOP(t, testop.Config{})
	b := browser(t)
	op.SetIDTokenHook(func(claims, header map[string]any) {
		claims["aud"] = "someone-else"
		claims["exp"] = time.Now().Add(-time.Minute).Unix()
		header["typ"] = nil
	})
	tk := loginAt(t, op, b, "app", "s3cret", rpRedirect)
	c, h := verify(t, op, tk.IDToken)
	if c["aud"] != "someone-else" || h.ExtraHeaders["typ"] != nil {
		t.Errorf("hooked token: claims %v header %+v", c, h)
	}
	op.SetIDTokenHook(nil)
	foreign := op.ForeignKey()
	op.SetIDTokenSignOptions(testop.WithKey(foreign))
	tk = loginAt(t, op, b, "app", "s3cret", rpRedirect)
	if kid := header(t, tk.IDToken)["kid"]; kid != foreign.KeyID {
		t.Errorf("kid %v, want foreign %s", kid, foreign.KeyID)
	}
	op.SetIDTokenSignOptions()
	tk = loginAt(t, op, b, "app", "s3cret", rpRedirect)
	if c, _ := verify(t, op, tk.IDToken); c["aud"] != "app" {
		t.Errorf("after reset: %v", c)
	}
}

func TestHS256Client(t *testing.T) {
	op := newOP(t, testop.Config{})
	if err := op.AddClient(testop.Client{ID: "hs", Secret: "a-long-shared-secret-of-32-bytes", RedirectURIs: []string{"http://hs.example/cb"},
		IDTokenSigningAlg: "HS256"}); err != nil {
		t.Fatal(err)
	}
	tk := loginAt(t, op, browser(t), "hs", "a-long-shared-secret-of-32-bytes", "http://hs.example/cb")
	jws, err := jose.ParseSignedCompact(tk.IDToken, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte("a-long-shared-secret-of-32-bytes")); err != nil {
		t.Fatal(err)
	}
	// An HS256 hint is recognised at end_session.
	resp, _ := endSession(t, op, browser(t), http.MethodGet, map[string][]string{"id_token_hint": {tk.IDToken}})
	if resp.StatusCode != http.StatusOK || len(op.SessionSIDs("alice")) != 0 {
		t.Errorf("end_session with HS256 hint: %d", resp.StatusCode)
	}
}

func TestKeyRotation(t *testing.T) {
	op := newOP(t, testop.Config{})
	old := op.KeyID("RS256")
	if err := op.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	cur := op.KeyID("RS256")
	tk := loginAt(t, op, browser(t), "app", "s3cret", rpRedirect)
	if _, h := verify(t, op, tk.IDToken); h.KeyID != cur || cur == old {
		t.Errorf("signed with %s, old %s, current %s", h.KeyID, old, cur)
	}
	if jwks := op.JWKS(); len(jwks.Key(old)) != 1 {
		t.Errorf("old key not published before retiring")
	}
	op.RetireOldKeys()
	set := op.JWKS()
	if len(set.Key(old)) != 0 || len(set.Key(cur)) != 1 || len(set.Keys) != 2 {
		t.Errorf("after retiring: %d keys", len(set.Keys))
	}
	for _, k := range set.Keys {
		if k.Use != "sig" || k.Algorithm == "" || !k.IsPublic() {
			t.Errorf("published key %s: use=%q alg=%q public=%v", k.KeyID, k.Use, k.Algorithm, k.IsPublic())
		}
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  testop.Config
	}{
		{"no issuer", testop.Config{}},
		{"trailing slash", testop.Config{Issuer: "http://op.example/"}},
		{"client without id", testop.Config{Issuer: "http://op.example", Clients: []testop.Client{{}}}},
		{"HS256 without secret", testop.Config{Issuer: "http://op.example", Clients: []testop.Client{{ID: "x", IDTokenSigningAlg: "HS256"}}}},
		{"fragment in logout URI", testop.Config{Issuer: "http://op.example", Clients: []testop.Client{{ID: "x", FrontChannelLogoutURIs: []string{"http://rp/fc#x"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := testop.New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "testop: ") {
				t.Errorf("New: %v", err)
			}
		})
	}
}
