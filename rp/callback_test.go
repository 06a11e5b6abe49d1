package rp_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

func TestCallbackSuccess(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	_, st, err := c.Login()
	if err != nil {
		t.Fatal(err)
	}
	claims := op.claims(st.Nonce)
	claims["at_hash"] = leftHalfHash("at-1")
	raw := op.sign(claims, signOpts{})
	op.setIDToken(raw)

	res, err := c.Callback(t.Context(), op.callbackParams(st), st)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if res.Issuer != op.issuer || res.Subject != "alice" || res.SID != "sid-1" || res.SessionState != "ss-1" {
		t.Errorf("result = %+v", res)
	}
	if res.RawIDToken != raw || res.IDToken == nil || res.Token.AccessToken != "at-1" || res.Token.RefreshToken != "rt-1" {
		t.Errorf("tokens not returned: %+v", res)
	}
	// The code was exchanged with the PKCE verifier, client_secret_basic.
	form := op.tokenForm[0]
	if form.Get("code_verifier") != st.CodeVerifier || form.Get("code") != "code-1" || form.Get("grant_type") != "authorization_code" {
		t.Errorf("token request form = %v", form)
	}
	if id, secret, ok := op.tokenReqs[0].BasicAuth(); !ok || id != testClientID || secret != testSecret {
		t.Errorf("token request basic auth = %q %q %v", id, secret, ok)
	}
	if form.Get("client_secret") != "" {
		t.Error("client_secret sent in the body with client_secret_basic")
	}
}

func TestCallbackClientSecretPost(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, func(cfg *rp.Config) { cfg.AuthMethod = rp.AuthMethodPost })
	_, st, _ := c.Login()
	op.setIDToken(op.sign(op.claims(st.Nonce), signOpts{}))
	if _, err := c.Callback(t.Context(), op.callbackParams(st), st); err != nil {
		t.Fatal(err)
	}
	form := op.tokenForm[0]
	if form.Get("client_id") != testClientID || form.Get("client_secret") != testSecret {
		t.Errorf("client_secret_post form = %v", form)
	}
	if _, _, ok := op.tokenReqs[0].BasicAuth(); ok {
		t.Error("basic auth sent with client_secret_post")
	}
}

func TestCallbackPublicClient(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, func(cfg *rp.Config) { cfg.ClientSecret = "" })
	if got := c.Config().AuthMethod; got != rp.AuthMethodNone {
		t.Fatalf("default AuthMethod without secret = %q", got)
	}
	_, st, _ := c.Login()
	op.setIDToken(op.sign(op.claims(st.Nonce), signOpts{}))
	if _, err := c.Callback(t.Context(), op.callbackParams(st), st); err != nil {
		t.Fatal(err)
	}
	form := op.tokenForm[0]
	if form.Get("client_id") != testClientID || form.Has("client_secret") {
		t.Errorf("public client form = %v", form)
	}
}

func TestCallbackFailures(t *testing.T) {
	rsaPublicDER := func(op *fakeOP) []byte {
		der, err := x509.MarshalPKIXPublicKey(op.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	type tc struct {
		name string
		// edit changes what the OP does or what the browser sends.
		edit    func(op *fakeOP, st *rp.LoginState, params url.Values, claims map[string]any) (idToken string)
		nilSt   bool
		wantErr error // matched with errors.Is; nil means *AuthError
		cfg     func(*rp.Config)
	}
	signed := func(op *fakeOP, claims map[string]any) string { return op.sign(claims, signOpts{}) }
	tests := []tc{
		{name: "no login state", nilSt: true, wantErr: rp.ErrState},
		{name: "state missing", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Del("state")
			return signed(op, c)
		}},
		{name: "state mismatched", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Set("state", st.State+"x")
			return signed(op, c)
		}},
		{name: "state twice", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Add("state", "other")
			return signed(op, c)
		}},
		{name: "error response with bad state is a state error", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Set("state", "forged")
			p.Set("error", "access_denied")
			return signed(op, c)
		}},
		{name: "login state of another issuer", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			st.Issuer = "https://other.example"
			return signed(op, c)
		}},
		{name: "login state without nonce", wantErr: rp.ErrState, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			st.Nonce = ""
			delete(c, "nonce")
			return signed(op, c)
		}},
		{name: "OP error", wantErr: nil, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Del("code")
			p.Set("error", "access_denied")
			p.Set("error_description", "user said no")
			p.Set("error_uri", "https://op.example/e")
			return signed(op, c)
		}},
		{name: "RFC 9207 iss mismatch", wantErr: rp.ErrIssuer, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Set("iss", op.issuer+"/")
			return signed(op, c)
		}},
		{name: "RFC 9207 iss missing but advertised", wantErr: rp.ErrIssuer, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Del("iss")
			return signed(op, c)
		}},
		{name: "RFC 9207 iss mismatch on error response", wantErr: rp.ErrIssuer, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Set("iss", "https://attacker.example")
			p.Set("error", "access_denied")
			return signed(op, c)
		}},
		{name: "no code", wantErr: errAny, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			p.Del("code")
			return signed(op, c)
		}},
		{name: "token endpoint error", wantErr: errAny, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			op.tokenErr = "invalid_grant"
			return signed(op, c)
		}},
		{name: "no id_token", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return ""
		}},
		{name: "wrong nonce", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["nonce"] = "other"
			return signed(op, c)
		}},
		{name: "nonce missing", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			delete(c, "nonce")
			return signed(op, c)
		}},
		{name: "key not in JWKS", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return op.sign(c, signOpts{key: rsaKey(t)})
		}},
		{name: "key not in JWKS without kid", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return op.sign(c, signOpts{key: rsaKey(t), noKID: true})
		}},
		{name: "ES256 when RS256 pinned", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			k := ecKey(t)
			op.jwks = append(op.jwks, jose.JSONWebKey{Key: k.Public(), KeyID: "ec1", Use: "sig"})
			return op.sign(c, signOpts{alg: jose.ES256, key: k, kid: "ec1"})
		}},
		{name: "HS256 keyed with the RSA public key", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return op.sign(c, signOpts{alg: jose.HS256, key: rsaPublicDER(op)})
		}},
		{name: "HS256 keyed with the RSA public key, HS256 allowed", wantErr: rp.ErrInvalidIDToken,
			cfg: func(cfg *rp.Config) { cfg.SigningAlgs = []string{"RS256", "HS256"} },
			edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
				return op.sign(c, signOpts{alg: jose.HS256, key: rsaPublicDER(op)})
			}},
		{name: "alg none", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return unsigned(c)
		}},
		{name: "wrong iss", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["iss"] = op.issuer + "/"
			return signed(op, c)
		}},
		{name: "wrong aud", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["aud"] = "other-app"
			return signed(op, c)
		}},
		{name: "several audiences without azp", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["aud"] = []string{testClientID, "other-app"}
			return signed(op, c)
		}},
		{name: "azp is another client", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["aud"] = []string{testClientID, "other-app"}
			c["azp"] = "other-app"
			return signed(op, c)
		}},
		{name: "azp is another client, one audience", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["azp"] = "other-app"
			return signed(op, c)
		}},
		{name: "expired beyond clock skew", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["exp"] = op.clock.Now().Add(-61 * time.Second).Unix()
			c["iat"] = op.clock.Now().Add(-time.Hour).Unix()
			return signed(op, c)
		}},
		{name: "exp missing", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			delete(c, "exp")
			return signed(op, c)
		}},
		{name: "iat in the future beyond clock skew", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["iat"] = op.clock.Now().Add(61 * time.Second).Unix()
			return signed(op, c)
		}},
		{name: "iat missing", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			delete(c, "iat")
			return signed(op, c)
		}},
		{name: "sub missing", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			delete(c, "sub")
			return signed(op, c)
		}},
		{name: "typ logout+jwt", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return op.sign(c, signOpts{header: map[jose.HeaderKey]any{"typ": "logout+jwt"}})
		}},
		{name: "typ application/logout+jwt", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return op.sign(c, signOpts{header: map[jose.HeaderKey]any{"typ": "Application/Logout+JWT"}})
		}},
		{name: "events claim", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
			return signed(op, c)
		}},
		{name: "at_hash mismatch", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			c["at_hash"] = leftHalfHash("another access token")
			return signed(op, c)
		}},
		{name: "JWE without decryption keys", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return "a.b.c.d.e"
		}},
		{name: "garbage", wantErr: rp.ErrInvalidIDToken, edit: func(op *fakeOP, st *rp.LoginState, p url.Values, c map[string]any) string {
			return "not a jwt"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			var edits []func(*rp.Config)
			if tt.cfg != nil {
				edits = append(edits, tt.cfg)
			}
			c := op.client(t, edits...)
			_, st, err := c.Login()
			if err != nil {
				t.Fatal(err)
			}
			params := op.callbackParams(st)
			claims := op.claims(st.Nonce)
			idt := op.sign(claims, signOpts{})
			if tt.edit != nil {
				op.mu.Lock()
				idt = tt.edit(op, st, params, claims)
				op.mu.Unlock()
			}
			op.setIDToken(idt)
			if tt.nilSt {
				st = nil
			}
			res, err := c.Callback(t.Context(), params, st)
			if err == nil {
				t.Fatalf("Callback succeeded: %+v", res)
			}
			if res != nil {
				t.Errorf("Callback returned a result with error %v", err)
			}
			var authErr *rp.AuthError
			switch {
			case tt.wantErr == nil:
				if !errors.As(err, &authErr) {
					t.Fatalf("error %v is not an *AuthError", err)
				}
				want := rp.AuthError{Code: "access_denied", Description: "user said no", URI: "https://op.example/e", SessionState: "ss-1"}
				if *authErr != want {
					t.Errorf("AuthError = %+v, want %+v", *authErr, want)
				}
			case tt.wantErr == errAny:
				for _, e := range []error{rp.ErrState, rp.ErrIssuer, rp.ErrInvalidIDToken} {
					if errors.Is(err, e) {
						t.Errorf("error %v unexpectedly wraps %v", err, e)
					}
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v does not wrap %v", err, tt.wantErr)
				}
				if errors.As(err, &authErr) {
					t.Errorf("error %v is an *AuthError", err)
				}
			}
			if want := reasons[tt.name]; want != "" && !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

// reasons are parts of the error message that show a case failed for the
// reason it tests.
var reasons = map[string]string{
	"login state of another issuer":       "is for issuer",
	"RFC 9207 iss missing but advertised": "iss parameter missing",
	"no code":                             "no code",
	"token endpoint error":                "invalid_grant",
	"no id_token":                         "no id_token",
	"wrong nonce":                         "nonce mismatch",
	"nonce missing":                       "nonce mismatch",
	"key not in JWKS":                     "no key verifies it",
	"key not in JWKS without kid":         "no key verifies it",
	"ES256 when RS256 pinned":             `algorithm "ES256"`,
	"HS256 keyed with the RSA public key": `algorithm "HS256"`,
	"HS256 keyed with the RSA public key, HS256 allowed": "signature",
	"alg none":                            `algorithm "none"`,
	"wrong iss":                           "different provider",
	"wrong aud":                           "audience",
	"several audiences without azp":       "no azp",
	"azp is another client":               "azp",
	"azp is another client, one audience": "azp",
	"expired beyond clock skew":           "expired",
	"exp missing":                         "expired",
	"iat in the future beyond clock skew": "iat is in the future",
	"iat missing":                         "iat missing",
	"sub missing":                         "sub missing",
	"typ logout+jwt":                      "logout token",
	"typ application/logout+jwt":          "logout token",
	"events claim":                        "events",
	"at_hash mismatch":                    "at_hash",
	"JWE without decryption keys":         "encrypted",
	"garbage":                             "malformed",
}

// errAny marks cases that must fail but with none of the sentinels.
var errAny = errors.New("any error")

func TestCallbackNoIssParameterWhenNotAdvertised(t *testing.T) {
	op := newFakeOP(t)
	op.setMeta("authorization_response_iss_parameter_supported", nil)
	c := op.client(t)
	_, st, _ := c.Login()
	op.setIDToken(op.sign(op.claims(st.Nonce), signOpts{}))
	params := op.callbackParams(st)
	params.Del("iss")
	if _, err := c.Callback(t.Context(), params, st); err != nil {
		t.Fatalf("Callback without iss (not advertised): %v", err)
	}
	// A wrong iss is still refused when present.
	params.Set("iss", "https://attacker.example")
	if _, err := c.Callback(t.Context(), params, st); !errors.Is(err, rp.ErrIssuer) {
		t.Fatalf("wrong iss: got %v, want ErrIssuer", err)
	}
}

func TestVerifyIDTokenClockSkew(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	now := op.clock.Now()
	tests := []struct {
		name     string
		exp, iat time.Time
		ok       bool
	}{
		{"fresh", now.Add(time.Minute), now, true},
		{"expired within skew", now.Add(-59 * time.Second), now.Add(-time.Hour), true},
		{"expired beyond skew", now.Add(-61 * time.Second), now.Add(-time.Hour), false},
		{"iat ahead within skew", now.Add(time.Hour), now.Add(59 * time.Second), true},
		{"iat ahead beyond skew", now.Add(time.Hour), now.Add(61 * time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := op.claims("n")
			cl["exp"], cl["iat"] = tt.exp.Unix(), tt.iat.Unix()
			_, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{}), "n")
			if (err == nil) != tt.ok {
				t.Fatalf("VerifyIDToken error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, rp.ErrInvalidIDToken) {
				t.Fatalf("error %v does not wrap ErrInvalidIDToken", err)
			}
		})
	}
	// An expired token also reports go-oidc's typed error.
	cl := op.claims("n")
	cl["exp"] = now.Add(-time.Hour).Unix()
	cl["iat"] = now.Add(-2 * time.Hour).Unix()
	_, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{}), "n")
	var expired *oidc.TokenExpiredError
	if !errors.As(err, &expired) {
		t.Errorf("expired error %v is not a *oidc.TokenExpiredError", err)
	}
}

func TestVerifyIDTokenHMAC(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, func(cfg *rp.Config) { cfg.SigningAlgs = []string{"HS256"} })
	cl := op.claims("n")
	if _, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{alg: jose.HS256, key: []byte(testSecret), noKID: true}), "n"); err != nil {
		t.Fatalf("HS256 with the client secret: %v", err)
	}
	if _, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{alg: jose.HS256, key: []byte(testSecret + "x"), noKID: true}), "n"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("HS256 with another secret: %v", err)
	}
	// RS256 is not configured here, so a correctly RSA-signed token fails.
	if _, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{}), "n"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("RS256 token with only HS256 allowed: %v", err)
	}
	if op.jwksHits.Load() != 0 {
		t.Errorf("HMAC verification fetched the JWKS %d times", op.jwksHits.Load())
	}
}

func TestVerifyIDTokenJWKSSymmetricKeyIgnored(t *testing.T) {
	op := newFakeOP(t)
	oct := []byte("0123456789abcdef0123456789abcdef")
	op.jwks = append(op.jwks, jose.JSONWebKey{Key: oct, KeyID: "oct", Algorithm: "HS256"})
	c := op.client(t, func(cfg *rp.Config) { cfg.SigningAlgs = []string{"RS256", "HS256"} })
	cl := op.claims("n")
	_, err := c.VerifyIDToken(t.Context(), op.sign(cl, signOpts{alg: jose.HS256, key: oct, kid: "oct"}), "n")
	if !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("token signed with a symmetric JWKS key accepted: %v", err)
	}
}

func TestVerifyIDTokenEncrypted(t *testing.T) {
	op := newFakeOP(t)
	encKey := rsaKey(t)
	c := op.client(t, func(cfg *rp.Config) {
		cfg.DecryptionKeys = []jose.JSONWebKey{{Key: encKey, KeyID: "enc1", Use: "enc"}}
	})
	if !c.EncryptionRequired() {
		t.Fatal("EncryptionRequired() = false with DecryptionKeys")
	}
	inner := op.sign(op.claims("n"), signOpts{})
	enc, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: encKey.Public(), KeyID: "enc1"},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := enc.Encrypt([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	jwe, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt(jwe); err != nil || got != inner {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	tok, err := c.VerifyIDToken(t.Context(), jwe, "n")
	if err != nil || tok.Subject != "alice" {
		t.Fatalf("encrypted ID token: %v", err)
	}
	if _, err := c.VerifyIDToken(t.Context(), inner, "n"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("unencrypted ID token accepted although encryption is required: %v", err)
	}
	// Encrypted to another key.
	other, _ := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: opKey().Public()}, nil)
	obj, _ = other.Encrypt([]byte(inner))
	jwe2, _ := obj.CompactSerialize()
	if _, err := c.VerifyIDToken(t.Context(), jwe2, "n"); !errors.Is(err, rp.ErrInvalidIDToken) {
		t.Fatalf("JWE for another key accepted: %v", err)
	}
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
