package rptest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/oidc-slo/slo/rp/rptest"
)

// newServer starts an OP that the test closes.
func newServer(t *testing.T, opts rptest.Options) *rptest.Server {
	t.Helper()
	op := rptest.NewServer(opts)
	t.Cleanup(op.Close)
	return op
}

// discovery returns the OP's discovery document.
func discovery(t *testing.T, op *rptest.Server) map[string]any {
	t.Helper()
	var m map[string]any
	getJSON(t, op.Issuer()+"/.well-known/openid-configuration", &m)
	return m
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// flow is one sign-in at the OP without an application: the code flow
// with PKCE as a relying party makes it.
type flow struct {
	op      *rptest.Server
	client  rptest.Client
	browser *http.Client
	style   oauth2.AuthStyle // default: in header, or in params for a public client
}

// signIn runs the code flow and returns the token response, or the error
// of the code exchange.
func (f flow) signIn(t *testing.T) (*oauth2.Token, error) {
	t.Helper()
	d := discovery(t, f.op)
	style := f.style
	switch {
	case f.client.ClientSecret == "":
		style = oauth2.AuthStyleInParams // a public client: client_id only
	case style == oauth2.AuthStyleAutoDetect:
		style = oauth2.AuthStyleInHeader
	}
	cfg := oauth2.Config{
		ClientID:     f.client.ClientID,
		ClientSecret: f.client.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL: d["authorization_endpoint"].(string), TokenURL: d["token_endpoint"].(string), AuthStyle: style,
		},
		RedirectURL: f.client.RedirectURIs[0],
		Scopes:      []string{"openid", "profile", "email"},
	}
	verifier := oauth2.GenerateVerifier()
	b := *f.browser
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), cfg.RedirectURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
		cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n0")), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorization response without code: %s", loc)
	}
	return cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
}

// idToken signs in and returns the verified claims and header of the ID
// token; it fails the test if the code exchange fails.
func (f flow) idToken(t *testing.T) (map[string]any, jose.Header) {
	t.Helper()
	tok, err := f.signIn(t)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return verify(t, f.op, raw, f.client.ClientSecret)
}

// verify checks raw against the OP's published keys (or, for HS256, the
// secret) and returns its claims and header.
func verify(t *testing.T, op *rptest.Server, raw, secret string) (map[string]any, jose.Header) {
	t.Helper()
	claims, h, err := tryVerify(t, op, raw, secret)
	if err != nil {
		t.Fatalf("verify %q: %v", raw, err)
	}
	return claims, h
}

func tryVerify(t *testing.T, op *rptest.Server, raw, secret string) (map[string]any, jose.Header, error) {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, discovery(t, op)["jwks_uri"].(string), &set)
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.HS256})
	if err != nil {
		return nil, jose.Header{}, err
	}
	h := jws.Signatures[0].Header
	var key any = []byte(secret)
	if h.Algorithm != string(jose.HS256) {
		keys := set.Key(h.KeyID)
		if len(keys) != 1 {
			return nil, h, &keyError{h.KeyID}
		}
		key = keys[0]
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, h, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, h, err
	}
	return claims, h, nil
}

type keyError struct{ kid string }

func (e *keyError) Error() string { return "no published key with kid " + e.kid }

// receiver is a back-channel logout endpoint that records logout tokens
// and answers status.
type receiver struct {
	srv    *httptest.Server
	tokens chan string
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	r := &receiver{tokens: make(chan string, 10)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.tokens <- req.PostFormValue("logout_token")
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}
