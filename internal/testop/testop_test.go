package testop_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/internal/weborigin"
)

const (
	rpRedirect  = "http://rp.example/callback"
	rpLoggedOut = "http://rp.example/logged-out"
	verifier    = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// newOP starts an OP with a confidential client "app" and a public client "spa".
func newOP(t *testing.T, cfg testop.Config) *testop.OP {
	t.Helper()
	cfg.Clients = append(cfg.Clients,
		testop.Client{ID: "app", Secret: "s3cret", RedirectURIs: []string{rpRedirect},
			PostLogoutRedirectURIs: []string{rpLoggedOut}},
		testop.Client{ID: "spa", RedirectURIs: []string{"http://spa.example/cb?x=1"}},
	)
	return testop.NewServer(t, cfg)
}

// browser is an http.Client with a cookie jar that does not follow
// redirects away from the OP.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// authorize runs the authorization request and returns the parameters of
// the redirect to the client.
func authorize(t *testing.T, op *testop.OP, b *http.Client, clientID, redirectURI string, extra url.Values) url.Values {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n0"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := b.Get(op.Issuer() + testop.PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; !strings.HasPrefix(redirectURI, got) {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
}

// postToken calls the token endpoint; basic selects client_secret_basic.
func postToken(t *testing.T, op *testop.OP, clientID, secret string, basic bool, form url.Values) (int, tokens) {
	t.Helper()
	if !basic {
		form.Set("client_id", clientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, op.Issuer()+testop.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token endpoint Cache-Control = %q", cc)
	}
	var tk tokens
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, tk
}

func codeForm(code, redirectURI string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}}
}

// verify checks raw against the OP's published JWKS with go-jose and
// returns its claims and header.
func verify(t *testing.T, op *testop.OP, raw string) (map[string]any, jose.Header) {
	t.Helper()
	resp, err := http.Get(op.Issuer() + testop.PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in JWKS", h.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims, h
}

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name    string
		cfg     testop.Config
		present []string
		absent  []string
	}{
		{"default", testop.Config{}, []string{"end_session_endpoint", "check_session_iframe",
			"authorization_response_iss_parameter_supported"}, nil},
		{"no end session", testop.Config{NoEndSession: true}, []string{"check_session_iframe"},
			[]string{"end_session_endpoint"}},
		{"no check session, no iss", testop.Config{NoCheckSession: true, NoIssParameter: true},
			[]string{"end_session_endpoint"}, []string{"check_session_iframe", "authorization_response_iss_parameter_supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, tt.cfg)
			resp, err := http.Get(op.Issuer() + testop.PathDiscovery)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
			if m["issuer"] != op.Issuer() || strings.HasSuffix(op.Issuer(), "/") {
				t.Errorf("issuer = %v, Issuer() = %q", m["issuer"], op.Issuer())
			}
			for _, k := range append([]string{"authorization_endpoint", "token_endpoint", "jwks_uri",
				"revocation_endpoint", "frontchannel_logout_supported", "frontchannel_logout_session_supported",
				"backchannel_logout_supported", "backchannel_logout_session_supported"}, tt.present...) {
				if _, ok := m[k]; !ok {
					t.Errorf("missing %s", k)
				}
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("unexpected %s", k)
				}
			}
			if got := m["code_challenge_methods_supported"]; !slices.Equal(toStrings(got), []string{"S256"}) {
				t.Errorf("code_challenge_methods_supported = %v", got)
			}
			if got := toStrings(m["id_token_signing_alg_values_supported"]); !slices.Equal(got, []string{"RS256", "ES256", "HS256"}) {
				t.Errorf("id_token_signing_alg_values_supported = %v", got)
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestStartHost(t *testing.T) {
	op, err := testop.Start(testop.Config{}, "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if !strings.HasPrefix(op.Issuer(), "http://localhost:") {
		t.Fatalf("Issuer() = %q", op.Issuer())
	}
	resp, err := http.Get(op.Issuer() + testop.PathDiscovery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestCodeFlow(t *testing.T) {
	tests := []struct {
		name, client, secret, redirect string
		basic                          bool
	}{
		{"confidential basic", "app", "s3cret", rpRedirect, true},
		{"confidential post", "app", "s3cret", rpRedirect, false},
		{"public none, redirect with query", "spa", "", "http://spa.example/cb?x=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, testop.Config{AccessTokenTTL: 90 * time.Second})
			op.SetNextSID(`a b&c#d%e+f"g'`)
			p := authorize(t, op, browser(t), tt.client, tt.redirect, nil)
			if p.Get("state") != "st" || p.Get("iss") != op.Issuer() || p.Get("code") == "" || p.Get("session_state") == "" {
				t.Fatalf("authorization response %v", p)
			}
			if strings.HasPrefix(tt.redirect, "http://spa") && p.Get("x") != "1" {
				t.Errorf("redirect_uri query lost: %v", p)
			}
			status, tk := postToken(t, op, tt.client, tt.secret, tt.basic, codeForm(p.Get("code"), tt.redirect))
			if status != http.StatusOK {
				t.Fatalf("token: %d %s", status, tk.Error)
			}
			if tk.TokenType != "Bearer" || tk.ExpiresIn != 90 || tk.AccessToken == "" || tk.RefreshToken == "" {
				t.Errorf("token response %+v", tk)
			}
			claims, h := verify(t, op, tk.IDToken)
			want := map[string]any{"iss": op.Issuer(), "sub": "alice", "aud": tt.client, "azp": tt.client,
				"nonce": "n0", "sid": `a b&c#d%e+f"g'`}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			for _, k := range []string{"exp", "iat", "auth_time"} {
				if _, ok := claims[k].(float64); !ok {
					t.Errorf("claim %s = %v", k, claims[k])
				}
			}
			if h.Algorithm != "RS256" || h.KeyID == "" {
				t.Errorf("header alg=%s kid=%s", h.Algorithm, h.KeyID)
			}

			// The code is single use.
			if status, tk := postToken(t, op, tt.client, tt.secret, tt.basic, codeForm(p.Get("code"), tt.redirect)); status != http.StatusBadRequest || tk.Error != "invalid_grant" {
				t.Errorf("code reuse: %d %q", status, tk.Error)
			}

			// Refresh rotates the refresh token and keeps sub and sid, without nonce.
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}
			status, tk2 := postToken(t, op, tt.client, tt.secret, tt.basic, form)
			if status != http.StatusOK || tk2.RefreshToken == tk.RefreshToken {
				t.Fatalf("refresh: %d %+v", status, tk2)
			}
			c2, _ := verify(t, op, tk2.IDToken)
			if c2["sub"] != "alice" || c2["sid"] != claims["sid"] || c2["nonce"] != nil {
				t.Errorf("refreshed ID token claims %v", c2)
			}
			form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}
			if status, _ := postToken(t, op, tt.client, tt.secret, tt.basic, form); status != http.StatusBadRequest {
				t.Errorf("old refresh token reused: %d", status)
			}
		})
	}
}

func TestTokenEndpointRejects(t *testing.T) {
	tests := []struct {
		name       string
		client     string
		secret     string
		mutate     func(url.Values)
		wantStatus int
		wantError  string
	}{
		{"wrong secret", "app", "nope", nil, http.StatusUnauthorized, "invalid_client"},
		{"unknown client", "zzz", "", nil, http.StatusUnauthorized, "invalid_client"},
		{"wrong verifier", "app", "s3cret", func(f url.Values) { f.Set("code_verifier", verifier+"x") }, http.StatusBadRequest, "invalid_grant"},
		{"missing verifier", "app", "s3cret", func(f url.Values) { f.Del("code_verifier") }, http.StatusBadRequest, "invalid_request"},
		{"wrong redirect_uri", "app", "s3cret", func(f url.Values) { f.Set("redirect_uri", rpRedirect+"/x") }, http.StatusBadRequest, "invalid_grant"},
		{"bad grant type", "app", "s3cret", func(f url.Values) { f.Set("grant_type", "password") }, http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, testop.Config{})
			p := authorize(t, op, browser(t), "app", rpRedirect, nil)
			form := codeForm(p.Get("code"), rpRedirect)
			if tt.mutate != nil {
				tt.mutate(form)
			}
			status, tk := postToken(t, op, tt.client, tt.secret, false, form)
			if status != tt.wantStatus || tk.Error != tt.wantError {
				t.Errorf("got %d %q, want %d %q", status, tk.Error, tt.wantStatus, tt.wantError)
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	tests := []struct {
		name  string
		extra url.Values
		want  string
	}{
		{"no PKCE", url.Values{"code_challenge": {""}}, "invalid_request"},
		{"plain PKCE", url.Values{"code_challenge_method": {"plain"}}, "invalid_request"},
		{"no openid scope", url.Values{"scope": {"profile"}}, "invalid_scope"},
		{"prompt none without session", url.Values{"prompt": {"none"}}, "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newOP(t, testop.Config{})
			p := authorize(t, op, browser(t), "app", rpRedirect, tt.extra)
			if p.Get("error") != tt.want || p.Get("state") != "st" || p.Get("iss") != op.Issuer() || p.Get("session_state") == "" {
				t.Errorf("response %v, want error %s with state, iss, session_state", p, tt.want)
			}
		})
	}
	t.Run("unregistered redirect_uri is not redirected to", func(t *testing.T) {
		op := newOP(t, testop.Config{})
		q := url.Values{"client_id": {"app"}, "redirect_uri": {"http://evil.example/cb"}, "response_type": {"code"}}
		resp, err := browser(t).Get(op.Issuer() + testop.PathAuthorize + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

func TestSSOAndPromptNone(t *testing.T) {
	op := newOP(t, testop.Config{})
	op.SetUser("bob")
	b := browser(t)
	p1 := authorize(t, op, b, "app", rpRedirect, nil)
	_, tk1 := postToken(t, op, "app", "s3cret", true, codeForm(p1.Get("code"), rpRedirect))
	c1, _ := verify(t, op, tk1.IDToken)

	p2 := authorize(t, op, b, "spa", "http://spa.example/cb?x=1", url.Values{"prompt": {"none"}})
	if p2.Get("code") == "" {
		t.Fatalf("SSO prompt=none: %v", p2)
	}
	_, tk2 := postToken(t, op, "spa", "", false, codeForm(p2.Get("code"), "http://spa.example/cb?x=1"))
	c2, _ := verify(t, op, tk2.IDToken)
	if c1["sub"] != "bob" || c2["sub"] != "bob" || c1["sid"] != c2["sid"] {
		t.Errorf("SSO: first %v %v, second %v %v", c1["sub"], c1["sid"], c2["sub"], c2["sid"])
	}

	other := op.SignIDToken(map[string]any{"iss": op.Issuer(), "sub": "carol", "aud": "app",
		"exp": time.Now().Add(-time.Hour).Unix()})
	p3 := authorize(t, op, b, "app", rpRedirect, url.Values{"prompt": {"none"}, "id_token_hint": {other}})
	if p3.Get("error") != "login_required" {
		t.Errorf("prompt=none for another user: %v", p3)
	}
	p4 := authorize(t, op, b, "app", rpRedirect, url.Values{"prompt": {"none"}, "id_token_hint": {tk1.IDToken}})
	if p4.Get("code") == "" {
		t.Errorf("prompt=none for the same user: %v", p4)
	}

	// login_hint picks the user of a new login.
	p5 := authorize(t, op, browser(t), "app", rpRedirect, url.Values{"login_hint": {"dave"}})
	_, tk5 := postToken(t, op, "app", "s3cret", true, codeForm(p5.Get("code"), rpRedirect))
	if c5, _ := verify(t, op, tk5.IDToken); c5["sub"] != "dave" || c5["sid"] == c1["sid"] {
		t.Errorf("login_hint: %v", c5)
	}
}

func TestSessionState(t *testing.T) {
	const want = "c1bd2d2ae1b9fcd1d59ba8e72a6a4ae3bdf4ea8a0e7b7aab9e1b7d5a48d2a89f.salt"
	got := testop.SessionState("client", "https://rp.example:443/cb?q=1", "opbs", "salt")
	// Recompute independently: origin drops the path and the default port.
	sum := sha256.Sum256([]byte("client https://rp.example opbs salt"))
	if exp := hexString(sum[:]) + ".salt"; got != exp {
		t.Errorf("SessionState = %s, want %s", got, exp)
	}
	_ = want
	for in, want := range map[string]string{
		"http://LocalHost:8080/cb": "http://localhost:8080",
		"http://127.0.0.1:80/x":    "http://127.0.0.1",
		"https://[::1]:8443/":      "https://[::1]:8443",
	} {
		if got := testop.Origin(in); got != want {
			t.Errorf("Origin(%q) = %q, want %q", in, got, want)
		}
	}
	// The OP computes origins as rp, logout and middleware do.
	for _, in := range []string{"https://user@rp.example/cb", "ftp://rp.example/", "https://bücher.example/", "HTTPS://RP.example:443"} {
		if got, want := testop.Origin(in), weborigin.Of(in); got != want {
			t.Errorf("Origin(%q) = %q, weborigin.Of gives %q", in, got, want)
		}
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestAuthorizationSessionStateMatchesBrowserState(t *testing.T) {
	op := newOP(t, testop.Config{})
	b := browser(t)
	p := authorize(t, op, b, "app", rpRedirect, nil)
	u, _ := url.Parse(op.Issuer())
	var bs string
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == testop.BrowserStateCookieName {
			bs = c.Value
		}
	}
	ss := p.Get("session_state")
	_, salt, _ := strings.Cut(ss, ".")
	if bs == "" || testop.SessionState("app", rpRedirect, bs, salt) != ss {
		t.Errorf("session_state %q does not match browser state %q", ss, bs)
	}
}

func TestRevocation(t *testing.T) {
	op := newOP(t, testop.Config{})
	p := authorize(t, op, browser(t), "app", rpRedirect, nil)
	_, tk := postToken(t, op, "app", "s3cret", true, codeForm(p.Get("code"), rpRedirect))
	form := url.Values{"token": {tk.RefreshToken}, "token_type_hint": {"refresh_token"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, op.Issuer()+testop.PathRevoke, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !op.Revoked(tk.RefreshToken) || op.Revoked(tk.AccessToken) {
		t.Fatalf("revoke: %d revoked=%v", resp.StatusCode, op.Revoked(tk.RefreshToken))
	}
	if status, _ := postToken(t, op, "app", "s3cret", true, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}); status != http.StatusBadRequest {
		t.Errorf("revoked refresh token accepted: %d", status)
	}
}

// loginAt logs the browser in at client and returns its tokens.
func loginAt(t *testing.T, op *testop.OP, b *http.Client, clientID, secret, redirectURI string) tokens {
	t.Helper()
	p := authorize(t, op, b, clientID, redirectURI, nil)
	status, tk := postToken(t, op, clientID, secret, secret != "", codeForm(p.Get("code"), redirectURI))
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, tk.Error)
	}
	return tk
}

// endSession calls the end_session endpoint with the browser.
func endSession(t *testing.T, op *testop.OP, b *http.Client, method string, params url.Values) (*http.Response, string) {
	t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req, _ = http.NewRequestWithContext(t.Context(), method, op.Issuer()+testop.PathEndSession, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequestWithContext(t.Context(), method, op.Issuer()+testop.PathEndSession+"?"+params.Encode(), nil)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestEndSessionRedirect(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		params       func(idt string) url.Values
		wantStatus   int
		wantLocation string
	}{
		{"exact match with hint", http.MethodGet, func(idt string) url.Values {
			return url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"x y"}}
		}, http.StatusFound, rpLoggedOut + "?state=x%20y"},
		{"exact match with client_id, POST", http.MethodPost, func(string) url.Values {
			return url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {rpLoggedOut}, "ui_locales": {"de en"}, "logout_hint": {"alice"}}
		}, http.StatusSeeOther, rpLoggedOut},
		{"trailing slash does not match", http.MethodGet, func(idt string) url.Values {
			return url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {rpLoggedOut + "/"}}
		}, http.StatusOK, ""},
		{"no client identified", http.MethodGet, func(string) url.Values {
			return url.Values{"post_logout_redirect_uri": {rpLoggedOut}}
		}, http.StatusOK, ""},
		{"client_id differs from hint aud", http.MethodGet, func(idt string) url.Values {
			return url.Values{"id_token_hint": {idt}, "client_id": {"spa"}, "post_logout_redirect_uri": {rpLoggedOut}}
		}, http.StatusBadRequest, ""},
		{"forged hint", http.MethodGet, func(string) url.Values {
			return url.Values{"id_token_hint": {"eyJhbGciOiJub25lIn0.e30."}, "post_logout_redirect_uri": {rpLoggedOut}}
		}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, testop.Config{})
			b := browser(t)
			tk := loginAt(t, op, b, "app", "s3cret", rpRedirect)
			// An expired hint is accepted.
			claims, _ := verify(t, op, tk.IDToken)
			claims["exp"] = time.Now().Add(-time.Hour).Unix()
			resp, _ := endSession(t, op, b, tt.method, tt.params(op.SignIDToken(claims)))
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Location") != tt.wantLocation {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.wantStatus, tt.wantLocation)
			}
			wantEnded := tt.wantStatus != http.StatusBadRequest
			if ended := len(op.SessionSIDs("alice")) == 0; ended != wantEnded {
				t.Errorf("OP session ended = %v, want %v", ended, wantEnded)
			}
		})
	}
}

func TestEndSessionWithoutCookieUsesHintSID(t *testing.T) {
	op := newOP(t, testop.Config{})
	tk := loginAt(t, op, browser(t), "app", "s3cret", rpRedirect)
	resp, _ := endSession(t, op, browser(t), http.MethodPost, url.Values{"id_token_hint": {tk.IDToken}})
	if resp.StatusCode != http.StatusOK || len(op.SessionSIDs("alice")) != 0 {
		t.Fatalf("status %d, sessions left %v", resp.StatusCode, op.SessionSIDs("alice"))
	}
	// The refresh token of the ended session no longer works.
	if status, _ := postToken(t, op, "app", "s3cret", true, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}}); status != http.StatusBadRequest {
		t.Errorf("refresh after logout: %d", status)
	}
}

// receiver is an httptest back-channel endpoint that records logout tokens.
type receiver struct {
	srv    *httptest.Server
	tokens chan string
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{tokens: make(chan string, 10)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.tokens <- req.PostFormValue("logout_token")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestBackChannelDelivery(t *testing.T) {
	tests := []struct {
		name   string
		legacy bool
		status int
		alg    string
	}{
		{"errata 1", false, http.StatusOK, "RS256"},
		{"ES256 client", false, http.StatusOK, "ES256"},
		{"legacy", true, http.StatusOK, "RS256"},
		{"receiver refuses", false, http.StatusBadRequest, "RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tt.status)
			var hooked []testop.Delivery
			op := newOP(t, testop.Config{LegacyLogoutTokens: tt.legacy, OnBackChannel: func(d testop.Delivery) {
				hooked = append(hooked, d)
			}})
			if err := op.AddClient(testop.Client{ID: "bc", Secret: "x", RedirectURIs: []string{"http://bc.example/cb"},
				BackChannelLogoutURI: rcv.srv.URL + "/bcl?tenant=1", BackChannelLogoutSessionRequired: true,
				IDTokenSigningAlg: tt.alg}); err != nil {
				t.Fatal(err)
			}
			op.SetNextSID("sid with space&amp")
			b := browser(t)
			loginAt(t, op, b, "bc", "x", "http://bc.example/cb")
			loginAt(t, op, b, "app", "s3cret", rpRedirect) // no back-channel URI: not notified

			resp, _ := endSession(t, op, b, http.MethodGet, url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {rpLoggedOut}})
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("end_session status %d", resp.StatusCode)
			}
			// Delivery happened before the redirect: the token is already here.
			var raw string
			select {
			case raw = <-rcv.tokens:
			default:
				t.Fatal("no logout token delivered before the redirect")
			}
			claims, h := verify(t, op, raw)
			if h.Algorithm != tt.alg {
				t.Errorf("alg %s, want %s", h.Algorithm, tt.alg)
			}
			wantTyp := "logout+jwt"
			if tt.legacy {
				wantTyp = "JWT"
			}
			if h.ExtraHeaders["typ"] != wantTyp {
				t.Errorf("typ = %v, want %s", h.ExtraHeaders["typ"], wantTyp)
			}
			ev, _ := claims["events"].(map[string]any)
			if _, ok := ev[testop.BackChannelLogoutEvent].(map[string]any); !ok || claims["iss"] != op.Issuer() ||
				claims["aud"] != "bc" || claims["sub"] != "alice" || claims["sid"] != "sid with space&amp" ||
				claims["jti"] == "" || claims["iat"] == nil || claims["nonce"] != nil {
				t.Errorf("logout token claims %v", claims)
			}
			if _, hasExp := claims["exp"]; hasExp == tt.legacy {
				t.Errorf("exp present = %v with legacy = %v", hasExp, tt.legacy)
			}
			ds := op.Deliveries()
			if len(ds) != 1 || len(hooked) != 1 || ds[0].ClientID != "bc" || ds[0].Status != tt.status ||
				ds[0].Err != nil || ds[0].URI != rcv.srv.URL+"/bcl?tenant=1" {
				t.Errorf("deliveries %+v, hook %+v", ds, hooked)
			}
		})
	}
}

func TestEndSessionProgrammatic(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	op := newOP(t, testop.Config{})
	op.AddClient(testop.Client{ID: "bc", RedirectURIs: []string{"http://bc.example/cb"}, BackChannelLogoutURI: rcv.srv.URL})
	b1, b2 := browser(t), browser(t)
	loginAt(t, op, b1, "bc", "", "http://bc.example/cb")
	loginAt(t, op, b2, "bc", "", "http://bc.example/cb")
	sids := op.SessionSIDs("alice")
	if len(sids) != 2 {
		t.Fatalf("sessions %v", sids)
	}
	if ds := op.EndSession(t.Context(), sids[0]); len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("EndSession(sid) deliveries %+v", ds)
	}
	if c, _ := verify(t, op, <-rcv.tokens); c["sid"] != sids[0] {
		t.Errorf("sid %v, want %v", c["sid"], sids[0])
	}
	if left := op.SessionSIDs("alice"); len(left) != 1 || left[0] != sids[1] {
		t.Errorf("left %v", left)
	}
	if ds := op.EndSession(t.Context(), "alice"); len(ds) != 1 {
		t.Errorf("EndSession(sub) deliveries %+v", ds)
	}
	if ds := op.EndSession(t.Context(), "alice"); len(ds) != 0 {
		t.Errorf("second EndSession delivered %+v", ds)
	}
	// The browser has no OP session any more.
	if p := authorize(t, op, b2, "bc", "http://bc.example/cb", url.Values{"prompt": {"none"}}); p.Get("error") != "login_required" {
		t.Errorf("prompt=none after EndSession: %v", p)
	}
}

var iframeSrc = regexp.MustCompile(`<iframe class="frontchannel-logout" src="([^"]*)"`)

func TestFrontChannelPage(t *testing.T) {
	op := newOP(t, testop.Config{})
	op.AddClient(testop.Client{ID: "fc", RedirectURIs: []string{"http://fc.example/cb"},
		PostLogoutRedirectURIs:            []string{`http://fc.example/bye?a=1&b="<x>"`},
		FrontChannelLogoutURIs:            []string{"http://fc.example/fcl?tenant=a%20b", "http://fc2.example/logout"},
		FrontChannelLogoutSessionRequired: true})
	op.AddClient(testop.Client{ID: "plain", RedirectURIs: []string{"http://plain.example/cb"},
		FrontChannelLogoutURIs: []string{"http://plain.example/fcl"}})
	const sid = `s p&c#d%e+f"g'<h>`
	op.SetNextSID(sid)
	b := browser(t)
	loginAt(t, op, b, "fc", "", "http://fc.example/cb")
	loginAt(t, op, b, "plain", "", "http://plain.example/cb")

	resp, body := endSession(t, op, b, http.MethodGet, url.Values{"client_id": {"fc"},
		"post_logout_redirect_uri": {`http://fc.example/bye?a=1&b="<x>"`}, "state": {`"</script>`}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []string
	for _, m := range iframeSrc.FindAllStringSubmatch(body, -1) {
		got = append(got, html.UnescapeString(m[1]))
	}
	iss := url.QueryEscape(op.Issuer())
	const sidQ = "s%20p%26c%23d%25e%2Bf%22g%27%3Ch%3E"
	want := []string{
		"http://fc.example/fcl?tenant=a%20b&iss=" + iss + "&sid=" + sidQ,
		"http://fc2.example/logout?iss=" + iss + "&sid=" + sidQ,
		"http://plain.example/fcl",
	}
	if !slices.Equal(got, want) {
		t.Errorf("iframe URLs\n got %q\nwant %q", got, want)
	}
	for _, u := range got[:2] {
		pu, _ := url.Parse(u)
		if pu.Query().Get("sid") != sid || pu.Query().Get("iss") != op.Issuer() {
			t.Errorf("%s: iss/sid do not round-trip", u)
		}
	}
	if strings.Contains(body, `"</script>`) || strings.Contains(body, "<x>") {
		t.Errorf("unescaped input in page:\n%s", body)
	}
	if !strings.Contains(body, "state=") || !strings.Contains(body, "data-logout") {
		t.Errorf("page lacks the redirect or the completion marker:\n%s", body)
	}
}

// TestFormPostProfileACRMaxAge: response_mode=form_post answers a page that
// posts the response to the redirect URI; ID tokens carry the user's
// profile claims and the first acr asked for; userinfo returns the profile;
// max_age renews auth_time when the last authentication is older.
func TestFormPostProfileACRMaxAge(t *testing.T) {
	now := time.Now()
	clk := func() time.Time { return now }
	op := newOP(t, testop.Config{Now: clk})
	b := browser(t)
	q := url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {rpRedirect},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n0"}, "response_mode": {"form_post"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}, "acr_values": {"mfa pwd"},
	}
	resp, err := b.Get(op.Issuer() + testop.PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `<form method="post" action="`+rpRedirect+`">`) ||
		!strings.Contains(string(page), `name="state" value="st"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action") {
		t.Fatalf("form_post page %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	i := strings.Index(string(page), `name="code" value="`)
	if i < 0 {
		t.Fatalf("no code in %s", page)
	}
	code := string(page[i+len(`name="code" value="`):])
	code = code[:strings.IndexByte(code, '"')]
	_, tk := postToken(t, op, "app", "s3cret", true, codeForm(code, rpRedirect))
	claims, _ := verify(t, op, tk.IDToken)
	if claims["name"] != "Alice Liddell" || claims["email"] != "alice@example.com" || claims["email_verified"] != true || claims["acr"] != "mfa" {
		t.Errorf("ID token claims %v", claims)
	}
	first := claims["auth_time"]

	req, _ := http.NewRequest(http.MethodGet, op.Issuer()+testop.PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if ui["sub"] != "alice" || ui["email"] != "alice@example.com" {
		t.Errorf("userinfo %v", ui)
	}

	// Later, max_age=60 makes the OP authenticate again.
	now = now.Add(2 * time.Minute)
	p := authorize(t, op, b, "app", rpRedirect, url.Values{"max_age": {"60"}})
	_, tk = postToken(t, op, "app", "s3cret", true, codeForm(p.Get("code"), rpRedirect))
	claims, _ = verify(t, op, tk.IDToken)
	if claims["auth_time"] == first {
		t.Errorf("auth_time %v not renewed by max_age", claims["auth_time"])
	}
}
