package logout

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Test fixture: two OPs, A (RSA and a published EC key) and B (RSA), and an
// RSA key pair the relying party decrypts with.

const (
	issA    = "https://op-a.example"
	issB    = "https://op-b.example"
	clientA = "client-a"
	clientB = "client-b"
)

var testNow = time.Unix(1_800_000_000, 0)

type testKeys struct {
	rsaA, rsaB, rsaEnc *rsa.PrivateKey
	ecA                *ecdsa.PrivateKey
	jwksA, jwksB       jose.JSONWebKeySet
}

var keys = sync.OnceValue(func() *testKeys {
	k := &testKeys{
		rsaA:   mustRSA(),
		rsaB:   mustRSA(),
		rsaEnc: mustRSA(),
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	k.ecA = ec
	// Published keys carry no "alg" member, as in the conformance suite.
	k.jwksA = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsaA.PublicKey, KeyID: "a-rsa", Use: "sig"},
		{Key: &k.ecA.PublicKey, KeyID: "a-ec", Use: "sig"},
	}}
	k.jwksB = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsaB.PublicKey, KeyID: "b-rsa", Use: "sig"},
	}}
	return k
})

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// jwksKeys is a KeyVerifier over a static JWKS: kid lookup, as rp.KeySet
// does, and never a key from the token's header.
type jwksKeys struct {
	set   jose.JSONWebKeySet
	calls atomic.Int64
}

func (k *jwksKeys) Verify(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	k.calls.Add(1)
	return jws.Verify(&k.set)
}

// b64 encodes base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw builds a compact JWS over exactly the given header and payload
// bytes, signed with key under alg (the header's alg is not consulted, so
// tests can make it lie).
func signRaw(t testing.TB, alg string, key any, header, payload []byte) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	h := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		t.Fatalf("signRaw: unsupported alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// tok describes a test token.
type tok struct {
	alg     string         // signing algorithm (default RS256)
	key     any            // signing key (default A's RSA key)
	header  map[string]any // JOSE header (default {"alg": alg, "kid": "a-rsa"})
	claims  map[string]any // payload (default validClaims(issA, clientA))
	payload string         // raw payload, overrides claims
}

func validClaims(iss, aud string) map[string]any {
	return map[string]any{
		"iss":    iss,
		"aud":    aud,
		"iat":    testNow.Unix(),
		"exp":    testNow.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"sub":    "alice",
		"sid":    "sid-1",
		"events": map[string]any{backChannelEvent: map[string]any{}},
	}
}

// with returns validClaims(issA, clientA) changed by f.
func with(f func(m map[string]any)) map[string]any {
	m := validClaims(issA, clientA)
	f(m)
	return m
}

func (tk tok) mint(t testing.TB) string {
	t.Helper()
	alg := tk.alg
	if alg == "" {
		alg = "RS256"
	}
	key := tk.key
	if key == nil {
		key = keys().rsaA
	}
	header := tk.header
	if header == nil {
		kid := "a-rsa"
		if alg == "ES256" {
			kid = "a-ec"
		}
		header = map[string]any{"alg": alg, "kid": kid}
	}
	hb, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	pb := []byte(tk.payload)
	if tk.payload == "" {
		claims := tk.claims
		if claims == nil {
			claims = validClaims(issA, clientA)
		}
		if pb, err = json.Marshal(claims); err != nil {
			t.Fatal(err)
		}
	}
	return signRaw(t, alg, key, hb, pb)
}

// encrypt wraps a compact JWS in a compact JWE (RSA-OAEP-256, A256GCM) for
// pub, with the given extra protected headers.
func encrypt(t testing.TB, jws string, pub *rsa.PublicKey, hdr map[string]any) string {
	t.Helper()
	opts := (&jose.EncrypterOptions{}).WithContentType("JWT")
	for k, v := range hdr {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: pub}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := enc.Encrypt([]byte(jws))
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decrypter is what rp.Client.Decrypt does: decrypt a compact JWE with the
// RP's key, with pinned algorithms.
func decrypter(priv *rsa.PrivateKey) func(string) (string, error) {
	return func(raw string) (string, error) {
		obj, err := jose.ParseEncryptedCompact(raw, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			return "", err
		}
		b, err := obj.Decrypt(priv)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}

// testProviders returns providers for OP A (RS256) and OP B (RS256).
func testProviders() []Provider {
	k := keys()
	return []Provider{
		{Issuer: issA, ClientID: clientA, Keys: &jwksKeys{set: k.jwksA}},
		{Issuer: issB, ClientID: clientB, Keys: &jwksKeys{set: k.jwksB}},
	}
}

func newTestVerifier(t testing.TB, mod func(*VerifierConfig)) *Verifier {
	t.Helper()
	cfg := VerifierConfig{Providers: testProviders(), Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyValid(t *testing.T) {
	v := newTestVerifier(t, nil)
	c := validClaims(issA, clientA)
	c["ignored_claim"] = map[string]any{"x": []any{1, "2"}}
	raw := tok{claims: c}.mint(t)
	got, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Issuer != issA || got.Subject != "alice" || got.SID != "sid-1" || got.JTI != c["jti"] {
		t.Errorf("token = %v", got)
	}
	if len(got.Audience) != 1 || got.Audience[0] != clientA {
		t.Errorf("Audience = %q", got.Audience)
	}
	if !got.IssuedAt.Equal(testNow) || !got.Expiry.Equal(testNow.Add(2*time.Minute)) {
		t.Errorf("iat/exp = %v/%v", got.IssuedAt, got.Expiry)
	}
	var extra struct {
		Ignored map[string]any `json:"ignored_claim"`
	}
	if err := got.Claims(&extra); err != nil || extra.Ignored["x"] == nil {
		t.Errorf("Claims = %v, %v", extra, err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", got, got, got, got); strings.Contains(s, raw) || strings.Contains(s, "ignored_claim") {
		t.Errorf("formatting shows the payload: %s", s)
	}
}

// TestVerify is the verifier's table: one case per way a token is refused,
// with the reason that must be reported.
func TestVerify(t *testing.T) {
	k := keys()
	longAgo := testNow.Add(-time.Hour).Unix()
	cases := []struct {
		name   string
		token  func(t testing.TB) string
		mod    func(*VerifierConfig)
		reason Reason // "" means valid
	}{
		{"valid", tok{}.mint, nil, ""},
		{"valid sub only", tok{claims: with(func(m map[string]any) { delete(m, "sid") })}.mint, nil, ""},
		{"valid sid only", tok{claims: with(func(m map[string]any) { delete(m, "sub") })}.mint, nil, ""},
		{"valid aud array", tok{claims: with(func(m map[string]any) { m["aud"] = []string{clientA} })}.mint, nil, ""},
		{"valid azp", tok{claims: with(func(m map[string]any) { m["azp"] = clientA })}.mint, nil, ""},
		{"valid non-empty event object", tok{claims: with(func(m map[string]any) {
			m["events"] = map[string]any{backChannelEvent: map[string]any{"a": 1}, "urn:other": true}
		})}.mint, nil, ""},
		{"valid fractional dates", tok{claims: with(func(m map[string]any) {
			m["iat"] = float64(testNow.Unix()) + 0.5
			m["exp"] = float64(testNow.Unix()) + 60.25
		})}.mint, nil, ""},
		{"valid iat within skew in future", tok{claims: with(func(m map[string]any) { m["iat"] = testNow.Add(59 * time.Second).Unix() })}.mint, nil, ""},
		{"valid exp within skew", tok{claims: with(func(m map[string]any) { m["exp"] = testNow.Add(-59 * time.Second).Unix() })}.mint, nil, ""},
		{"valid from OP B", tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: validClaims(issB, clientB)}.mint, nil, ""},
		{"valid escaped claim names", tok{payload: fmt.Sprintf(
			`{"\u0069ss":%q,"aud":%q,"iat":%d,"exp":%d,"jti":"j","s\u0069d":"s","events":{"http:\/\/schemas.openid.net\/event\/backchannel-logout":{}}}`,
			issA, clientA, testNow.Unix(), testNow.Unix()+60)}.mint, nil, ""},

		// typ policy
		{"typ JWT", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "JWT"}}.mint, nil, ""},
		{"typ logout+jwt", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "logout+jwt"}}.mint, nil, ""},
		{"typ application/Logout+JWT", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "application/Logout+JWT"}}.mint, nil, ""},
		{"typ at+jwt", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "at+jwt"}}.mint, nil, ReasonTyp},
		{"typ not a string", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": 1}}.mint, nil, ReasonTyp},
		{"strict: typ logout+jwt", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "logout+jwt"}}.mint, strict, ""},
		{"strict: typ absent", tok{}.mint, strict, ReasonTyp},
		{"strict: typ JWT", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "JWT"}}.mint, strict, ReasonTyp},

		// B-11 shape
		{"empty", func(testing.TB) string { return "" }, nil, ReasonMalformed},
		{"two parts", func(testing.TB) string { return "a.b" }, nil, ReasonMalformed},
		{"four parts", func(testing.TB) string { return "a.b.c.d" }, nil, ReasonMalformed},
		{"six parts", func(testing.TB) string { return "a.b.c.d.e.f" }, nil, ReasonMalformed},
		{"bad base64", func(t testing.TB) string { return "!!!." + strings.SplitN(tok{}.mint(t), ".", 2)[1] }, nil, ReasonMalformed},
		{"too large", func(testing.TB) string { return strings.Repeat("a", MaxTokenSize+1) }, nil, ReasonTooLarge},
		{"payload not JSON", tok{payload: "not json"}.mint, nil, ReasonMalformed},
		{"payload array", tok{payload: `["iss"]`}.mint, nil, ReasonMalformed},
		{"payload string", tok{payload: `"x"`}.mint, nil, ReasonMalformed},
		{"duplicate iss", dupClaim(`"iss":"https://evil.example"`), nil, ReasonMalformed},
		{"duplicate sub", dupClaim(`"sub":"bob"`), nil, ReasonMalformed},
		{"duplicate escaped sid", dupClaim(`"\u0073id":"other"`), nil, ReasonMalformed},
		{"duplicate nonce", dupClaim(`"nonce":"a","nonce":"b"`), nil, ReasonMalformed},
		{"duplicate event member", tok{claims: with(func(m map[string]any) {
			m["events"] = json.RawMessage(`{"` + backChannelEvent + `":{},"` + backChannelEvent + `":true}`)
		})}.mint, nil, ReasonMalformed},
		{"huge iat", tok{claims: with(func(m map[string]any) { m["iat"] = json.Number("1e400") })}.mint, nil, ReasonIAT},
		{"huge exp", tok{claims: with(func(m map[string]any) { m["exp"] = json.Number("99999999999999999999999") })}.mint, nil, ReasonMalformed},
		{"negative iat", tok{claims: with(func(m map[string]any) { m["iat"] = -1 })}.mint, nil, ReasonIAT},

		// B-12 none
		{"alg none", tok{alg: "none", header: map[string]any{"alg": "none"}}.mint, nil, ReasonAlgNone},
		{"alg None", tok{alg: "none", header: map[string]any{"alg": "None"}}.mint, nil, ReasonAlgNone},
		{"alg NONE", tok{alg: "none", header: map[string]any{"alg": "NONE"}}.mint, nil, ReasonAlgNone},
		// B-13 wrong alg, signed with a published key
		{"ES256 with published key, RS256 pinned", tok{alg: "ES256", key: k.ecA}.mint, nil, ReasonAlgNotAllowed},
		{"RS256 when ES256 pinned", tok{}.mint, func(c *VerifierConfig) { c.Providers[0].Algs = []string{"ES256"} }, ReasonAlgNotAllowed},
		{"ES256 when ES256 pinned", tok{alg: "ES256", key: k.ecA}.mint, func(c *VerifierConfig) { c.Providers[0].Algs = []string{"ES256"} }, ""},
		{"alg allowed for B only", tok{alg: "ES256", key: k.ecA}.mint, func(c *VerifierConfig) { c.Providers[1].Algs = []string{"ES256"} }, ReasonAlgNotAllowed},
		// B-14 algorithm confusion
		{"HS256 with RSA public key as secret", func(t testing.TB) string {
			pub, _ := json.Marshal(jose.JSONWebKey{Key: &k.rsaA.PublicKey})
			return tok{alg: "HS256", key: pub, header: map[string]any{"alg": "HS256", "kid": "a-rsa"}}.mint(t)
		}, nil, ReasonAlgNotAllowed},
		{"HS256 with RSA key, HS256 also pinned", func(t testing.TB) string {
			pub, _ := json.Marshal(jose.JSONWebKey{Key: &k.rsaA.PublicKey})
			return tok{alg: "HS256", key: pub, header: map[string]any{"alg": "HS256", "kid": "a-rsa"}}.mint(t)
		}, func(c *VerifierConfig) { c.Providers[0].Algs = []string{"RS256", "HS256"} }, ReasonBadSignature},
		// B-15 signature and keys
		{"bad signature", func(t testing.TB) string {
			s := tok{}.mint(t)
			i := strings.LastIndexByte(s, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(s[i+1:])
			sig[0] ^= 1
			return s[:i+1] + b64(sig)
		}, nil, ReasonBadSignature},
		{"unknown kid", tok{key: mustRSA(), header: map[string]any{"alg": "RS256", "kid": "nope"}}.mint, nil, ReasonBadSignature},
		{"no kid", tok{header: map[string]any{"alg": "RS256"}}.mint, nil, ReasonBadSignature},
		{"embedded jwk key", func(t testing.TB) string {
			other := mustRSA()
			return tok{key: other, header: map[string]any{"alg": "RS256", "kid": "a-rsa", "jwk": jose.JSONWebKey{Key: &other.PublicKey}}}.mint(t)
		}, nil, ReasonBadSignature},
		{"jku header", func(t testing.TB) string {
			return tok{key: mustRSA(), header: map[string]any{"alg": "RS256", "kid": "a-rsa", "jku": "https://evil.example/jwks"}}.mint(t)
		}, nil, ReasonBadSignature},
		{"x5u header", func(t testing.TB) string {
			return tok{key: mustRSA(), header: map[string]any{"alg": "RS256", "kid": "a-rsa", "x5u": "https://evil.example/cert"}}.mint(t)
		}, nil, ReasonBadSignature},
		// B-16 crit
		{"crit unknown", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "crit": []string{"exp"}, "exp": 1}}.mint, nil, ReasonCrit},
		{"crit b64", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "crit": []string{"b64"}, "b64": true}}.mint, nil, ReasonCrit},
		// B-17 multi-OP
		{"signed by B claiming A", tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}}.mint, nil, ReasonBadSignature},
		{"signed by B claiming A with A's kid", tok{key: k.rsaB}.mint, nil, ReasonBadSignature},
		{"A's token with B's client_id", tok{claims: with(func(m map[string]any) { m["aud"] = clientB })}.mint, nil, ReasonAudience},
		// B-18 iss
		{"iss wrong", tok{claims: with(func(m map[string]any) { m["iss"] = "https://evil.example" })}.mint, nil, ReasonUnknownIssuer},
		{"iss trailing slash", tok{claims: with(func(m map[string]any) { m["iss"] = issA + "/" })}.mint, nil, ReasonUnknownIssuer},
		{"iss missing", tok{claims: with(func(m map[string]any) { delete(m, "iss") })}.mint, nil, ReasonUnknownIssuer},
		{"iss not a string", tok{claims: with(func(m map[string]any) { m["iss"] = []string{issA} })}.mint, nil, ReasonUnknownIssuer},
		{"iss null", tok{claims: with(func(m map[string]any) { m["iss"] = nil })}.mint, nil, ReasonUnknownIssuer},
		// B-19 aud, azp
		{"aud wrong", tok{claims: with(func(m map[string]any) { m["aud"] = "other" })}.mint, nil, ReasonAudience},
		{"aud missing", tok{claims: with(func(m map[string]any) { delete(m, "aud") })}.mint, nil, ReasonAudience},
		{"aud array without client", tok{claims: with(func(m map[string]any) { m["aud"] = []string{"x", "y"} })}.mint, nil, ReasonAudience},
		{"aud array with untrusted extra", tok{claims: with(func(m map[string]any) { m["aud"] = []string{clientA, "other"} })}.mint, nil, ReasonAudience},
		{"aud empty array", tok{claims: with(func(m map[string]any) { m["aud"] = []string{} })}.mint, nil, ReasonAudience},
		{"aud array of non-strings", tok{claims: with(func(m map[string]any) { m["aud"] = []any{clientA, 1} })}.mint, nil, ReasonAudience},
		{"aud number", tok{claims: with(func(m map[string]any) { m["aud"] = 1 })}.mint, nil, ReasonAudience},
		{"azp wrong", tok{claims: with(func(m map[string]any) { m["azp"] = "other" })}.mint, nil, ReasonAZP},
		{"azp not a string", tok{claims: with(func(m map[string]any) { m["azp"] = nil })}.mint, nil, ReasonAZP},
		// B-20 iat
		{"iat missing", tok{claims: with(func(m map[string]any) { delete(m, "iat") })}.mint, nil, ReasonIAT},
		{"iat string", tok{claims: with(func(m map[string]any) { m["iat"] = fmt.Sprint(testNow.Unix()) })}.mint, nil, ReasonIAT},
		{"iat in future", tok{claims: with(func(m map[string]any) { m["iat"] = testNow.Add(61 * time.Second).Unix() })}.mint, nil, ReasonIssuedInFuture},
		{"iat too old", tok{claims: with(func(m map[string]any) { m["iat"] = longAgo })}.mint, nil, ReasonTooOld},
		{"iat old but within MaxAge", tok{claims: with(func(m map[string]any) { m["iat"] = longAgo })}.mint, func(c *VerifierConfig) { c.MaxAge = 2 * time.Hour }, ""},
		// B-21 exp, nbf
		{"exp missing", tok{claims: with(func(m map[string]any) { delete(m, "exp") })}.mint, nil, ReasonMissingExp},
		{"compat: exp missing", tok{claims: with(func(m map[string]any) { delete(m, "exp") })}.mint, compat, ""},
		{"compat: exp missing, too old", tok{claims: with(func(m map[string]any) { delete(m, "exp"); m["iat"] = longAgo })}.mint, compat, ReasonTooOld},
		{"compat: exp present and past", tok{claims: with(func(m map[string]any) { m["exp"] = longAgo })}.mint, compat, ReasonExpired},
		{"exp past beyond skew", tok{claims: with(func(m map[string]any) { m["exp"] = testNow.Add(-61 * time.Second).Unix() })}.mint, nil, ReasonExpired},
		{"exp exactly at now-skew", tok{claims: with(func(m map[string]any) { m["exp"] = testNow.Add(-60 * time.Second).Unix() })}.mint, nil, ReasonExpired},
		{"exp string", tok{claims: with(func(m map[string]any) { m["exp"] = "tomorrow" })}.mint, nil, ReasonMalformed},
		{"exp null", tok{claims: with(func(m map[string]any) { m["exp"] = nil })}.mint, nil, ReasonMalformed},
		{"nbf in future", tok{claims: with(func(m map[string]any) { m["nbf"] = testNow.Add(2 * time.Minute).Unix() })}.mint, nil, ReasonNotYetValid},
		{"nbf past", tok{claims: with(func(m map[string]any) { m["nbf"] = testNow.Unix() })}.mint, nil, ""},
		{"nbf bad", tok{claims: with(func(m map[string]any) { m["nbf"] = true })}.mint, nil, ReasonMalformed},
		// B-22 jti
		{"jti missing", tok{claims: with(func(m map[string]any) { delete(m, "jti") })}.mint, nil, ReasonJTI},
		{"jti empty", tok{claims: with(func(m map[string]any) { m["jti"] = "" })}.mint, nil, ReasonJTI},
		{"jti number", tok{claims: with(func(m map[string]any) { m["jti"] = 7 })}.mint, nil, ReasonJTI},
		// B-24, B-25 events
		{"events missing", tok{claims: with(func(m map[string]any) { delete(m, "events") })}.mint, nil, ReasonEvents},
		{"events foobar", tok{claims: with(func(m map[string]any) {
			m["events"] = map[string]any{"http://schemas.openid.net/event/foobar": map[string]any{}}
		})}.mint, nil, ReasonEvents},
		{"events array", tok{claims: with(func(m map[string]any) { m["events"] = []string{backChannelEvent} })}.mint, nil, ReasonEvents},
		{"events string", tok{claims: with(func(m map[string]any) { m["events"] = backChannelEvent })}.mint, nil, ReasonEvents},
		{"events null", tok{claims: with(func(m map[string]any) { m["events"] = nil })}.mint, nil, ReasonEvents},
		{"event member true", tok{claims: with(func(m map[string]any) { m["events"] = map[string]any{backChannelEvent: true} })}.mint, nil, ReasonEvents},
		{"event member empty string", tok{claims: with(func(m map[string]any) { m["events"] = map[string]any{backChannelEvent: ""} })}.mint, nil, ReasonEvents},
		{"event member array", tok{claims: with(func(m map[string]any) { m["events"] = map[string]any{backChannelEvent: []any{}} })}.mint, nil, ReasonEvents},
		{"event member null", tok{claims: with(func(m map[string]any) { m["events"] = map[string]any{backChannelEvent: nil} })}.mint, nil, ReasonEvents},
		{"event member name differs in case", tok{claims: with(func(m map[string]any) {
			m["events"] = map[string]any{strings.ToUpper(backChannelEvent): map[string]any{}}
		})}.mint, nil, ReasonEvents},
		// B-26 nonce
		{"nonce", tok{claims: with(func(m map[string]any) { m["nonce"] = "n" })}.mint, nil, ReasonNonce},
		{"nonce empty", tok{claims: with(func(m map[string]any) { m["nonce"] = "" })}.mint, nil, ReasonNonce},
		{"nonce null", tok{claims: with(func(m map[string]any) { m["nonce"] = nil })}.mint, nil, ReasonNonce},
		// B-27 sub/sid
		{"neither sub nor sid", tok{claims: with(func(m map[string]any) { delete(m, "sub"); delete(m, "sid") })}.mint, nil, ReasonSubject},
		{"sub empty", tok{claims: with(func(m map[string]any) { m["sub"] = "" })}.mint, nil, ReasonSubject},
		{"sid empty", tok{claims: with(func(m map[string]any) { m["sid"] = "" })}.mint, nil, ReasonSubject},
		{"sub number", tok{claims: with(func(m map[string]any) { m["sub"] = 1 })}.mint, nil, ReasonSubject},
		{"sid null", tok{claims: with(func(m map[string]any) { m["sid"] = nil })}.mint, nil, ReasonSubject},
		{"sid object", tok{claims: with(func(m map[string]any) { m["sid"] = map[string]any{} })}.mint, nil, ReasonSubject},
		// B-29 an ID token
		{"ID token", tok{claims: map[string]any{
			"iss": issA, "aud": clientA, "sub": "alice", "iat": testNow.Unix(), "exp": testNow.Unix() + 60, "nonce": "n", "sid": "s",
		}}.mint, nil, ReasonEvents},
		// B-30 access token
		{"at+jwt", tok{header: map[string]any{"alg": "RS256", "kid": "a-rsa", "typ": "at+jwt"}}.mint, nil, ReasonTyp},
		// B-31, B-32 encryption
		{"JWE without decryption keys", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, nil, ReasonDecryption},
		{"JWE", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, encrypted, ""},
		{"JWE without iss header", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, nil)
		}, encrypted, ""},
		{"JWE for another key", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &mustRSA().PublicKey, map[string]any{"iss": issA})
		}, encrypted, ReasonDecryption},
		{"JWE with unknown iss header", func(t testing.TB) string {
			return encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": "https://evil.example"})
		}, encrypted, ReasonUnknownIssuer},
		{"JWE of unsigned JSON", func(t testing.TB) string {
			return encrypt(t, `{"iss":"`+issA+`"}`, &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, encrypted, ReasonDecryption},
		{"JWE of alg none JWS", func(t testing.TB) string {
			return encrypt(t, tok{alg: "none", header: map[string]any{"alg": "none"}}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, encrypted, ReasonAlgNone},
		{"JWE of JWE", func(t testing.TB) string {
			inner := encrypt(t, tok{}.mint(t), &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
			return encrypt(t, inner, &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, encrypted, ReasonDecryption},
		{"JWE for A around B's token", func(t testing.TB) string {
			inner := tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: validClaims(issB, clientB)}.mint(t)
			return encrypt(t, inner, &k.rsaEnc.PublicKey, map[string]any{"iss": issA})
		}, encrypted, ReasonUnknownIssuer},
		{"unencrypted when encryption required", tok{}.mint, encrypted, ReasonEncryptionRequired},
		{"unencrypted from B when only A requires it", tok{key: k.rsaB, header: map[string]any{"alg": "RS256", "kid": "b-rsa"}, claims: validClaims(issB, clientB)}.mint, encrypted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.mod)
			raw := tc.token(t)
			got, err := v.Verify(t.Context(), raw)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if got == nil || got.Issuer == "" || got.JTI == "" {
					t.Fatalf("Verify returned %v", got)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify error = %v (%T), want *ValidationError %q", err, err, tc.reason)
			}
			if ve.Reason != tc.reason {
				t.Errorf("reason = %q (%v), want %q", ve.Reason, err, tc.reason)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "logout:") {
				t.Errorf("message %q does not start with logout:", msg)
			}
			if len(raw) > 20 && strings.Contains(msg, raw[len(raw)-20:]) {
				t.Errorf("message contains the token: %q", msg)
			}
		})
	}
}

func strict(c *VerifierConfig) { c.Typ = TypStrict }
func compat(c *VerifierConfig) { c.AllowMissingExp = true }
func encrypted(c *VerifierConfig) {
	c.Providers[0].Decrypt = decrypter(keys().rsaEnc)
	c.Providers[0].EncryptionRequired = true
}

// sharedDecryption gives every provider the same decryption key.
func sharedDecryption(c *VerifierConfig) {
	for i := range c.Providers {
		c.Providers[i].Decrypt = decrypter(keys().rsaEnc)
		c.Providers[i].EncryptionRequired = true
	}
}

// dupClaim returns a token whose payload is a valid one with extra appended
// after its last member.
func dupClaim(extra string) func(t testing.TB) string {
	return func(t testing.TB) string {
		b, err := json.Marshal(validClaims(issA, clientA))
		if err != nil {
			t.Fatal(err)
		}
		return tok{payload: string(b[:len(b)-1]) + "," + extra + "}"}.mint(t)
	}
}

func TestVerifySignatureCheckedBeforeClaims(t *testing.T) {
	// An unsigned token with every claim wrong reports the signature (or
	// alg), never a claim: claims are not trusted before the signature.
	v := newTestVerifier(t, nil)
	payload := with(func(m map[string]any) { m["nonce"] = "x"; delete(m, "events") })
	raw := tok{key: mustRSA(), claims: payload}.mint(t)
	_, err := v.Verify(t.Context(), raw)
	if r := reasonOf(err); r != ReasonBadSignature {
		t.Errorf("reason = %q, want %q", r, ReasonBadSignature)
	}
}

func TestVerifyUsesOnlySelectedProviderKeys(t *testing.T) {
	// A's token must be checked with A's keys only: B's key source is
	// never asked.
	provs := testProviders()
	v, err := NewVerifier(VerifierConfig{Providers: provs, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok{}.mint(t)); err != nil {
		t.Fatal(err)
	}
	if a, b := provs[0].Keys.(*jwksKeys).calls.Load(), provs[1].Keys.(*jwksKeys).calls.Load(); a != 1 || b != 0 {
		t.Errorf("key source calls: A=%d B=%d, want 1 and 0", a, b)
	}
}

// lyingKeys returns a payload other than the JWS's.
type lyingKeys struct{}

func (lyingKeys) Verify(context.Context, *jose.JSONWebSignature) ([]byte, error) {
	return []byte(`{}`), nil
}

func TestVerifyPayloadMustMatchVerified(t *testing.T) {
	v, err := NewVerifier(VerifierConfig{
		Providers: []Provider{{Issuer: issA, ClientID: clientA, Keys: lyingKeys{}}},
		Now:       func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok{}.mint(t)); reasonOf(err) != ReasonBadSignature {
		t.Errorf("err = %v, want %s", err, ReasonBadSignature)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	ok := Provider{Issuer: issA, ClientID: clientA, Keys: &jwksKeys{}}
	cases := []struct {
		name string
		cfg  VerifierConfig
		want []string // substrings of the error; none means valid
	}{
		{"valid", VerifierConfig{Providers: []Provider{ok}}, nil},
		{"no providers", VerifierConfig{}, []string{"Providers is empty"}},
		{"everything wrong", VerifierConfig{
			Providers: []Provider{{Algs: []string{"none", "RS256"}, EncryptionRequired: true}, ok, ok},
			ClockSkew: -1, MaxAge: -1, Typ: 7,
		}, []string{"Issuer is empty", "ClientID is empty", "Keys is nil", "needs Decrypt", `"none" is not`, "configured twice", "ClockSkew", "MaxAge", "Typ 7"}},
		{"alg None", VerifierConfig{Providers: []Provider{{Issuer: issA, ClientID: clientA, Keys: &jwksKeys{}, Algs: []string{"None"}}}}, []string{`"None" is not`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				if v.skew != DefaultClockSkew || v.maxAge != DefaultMaxAge || v.now == nil {
					t.Errorf("defaults not applied: %+v", v)
				}
				return
			}
			if err == nil {
				t.Fatal("NewVerifier succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReplayUntil(t *testing.T) {
	v := newTestVerifier(t, nil)
	cases := []struct {
		name string
		exp  time.Time
		want time.Time
	}{
		{"exp first", testNow.Add(time.Minute), testNow.Add(time.Minute + DefaultClockSkew + time.Second)},
		{"iat window first", testNow.Add(24 * time.Hour), testNow.Add(DefaultMaxAge + DefaultClockSkew + time.Second)},
		{"no exp", time.Time{}, testNow.Add(DefaultMaxAge + DefaultClockSkew + time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := v.replayUntil(&Token{IssuedAt: testNow, Expiry: tc.exp})
			if !got.Equal(tc.want) {
				t.Errorf("replayUntil = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzVerifyUnsigned feeds arbitrary strings to Verify. None of them is
// signed by a key the verifier trusts, so every one must be refused with a
// *ValidationError, and nothing may panic.
func FuzzVerifyUnsigned(f *testing.F) {
	k := keys()
	other := mustRSA()
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	seeds := []string{
		"", ".", "..", "....", "a.b.c", "a.b.c.d.e",
		tok{key: other}.mint(f),
		tok{alg: "ES256", key: otherEC}.mint(f),
		tok{alg: "none", header: map[string]any{"alg": "none"}}.mint(f),
		tok{key: other, payload: `{"iss":"` + issA + `","iss":"x"}`}.mint(f),
		tok{key: other, payload: `{"events":{"a":{"b":[1,{"c":"\""}]}}}`}.mint(f),
		tok{key: other, header: map[string]any{"alg": "RS256", "crit": []string{"b64"}}}.mint(f),
		encrypt(f, tok{key: other}.mint(f), &k.rsaEnc.PublicKey, map[string]any{"iss": issA}),
		encrypt(f, "{}", &k.rsaEnc.PublicKey, nil),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	v := newTestVerifier(f, func(c *VerifierConfig) {
		c.Providers[0].Decrypt = decrypter(k.rsaEnc)
		c.Providers[1].Algs = []string{"RS256", "ES256", "HS256"}
	})
	f.Fuzz(func(t *testing.T, raw string) {
		tk, err := v.Verify(t.Context(), raw)
		if err == nil {
			t.Fatalf("unsigned token accepted: %v", tk)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Reason == "" {
			t.Fatalf("error %v (%T) is not a *ValidationError with a reason", err, err)
		}
	})
}
