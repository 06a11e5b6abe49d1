package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// startLogin begins a login without following the OP, and returns the
// authorization request the browser was sent to.
func (e *env) startLogin() *url.URL {
	e.t.Helper()
	resp, err := e.noRedirect().Get(e.app.URL + "/login")
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		e.t.Fatalf("login start: %d %v", resp.StatusCode, err)
	}
	return u
}

// authorize runs the authorization request at the OP and returns the
// callback URL the OP sent the browser to.
func (e *env) authorize(authURL *url.URL) *url.URL {
	e.t.Helper()
	resp, err := e.noRedirect().Get(authURL.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Path != "/callback" {
		e.t.Fatalf("OP answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u
}

// callback sends the browser to cb and returns the status of the answer.
func (e *env) callback(cb *url.URL) int {
	e.t.Helper()
	resp, err := e.noRedirect().Get(cb.String())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) noSessionCreated() {
	e.t.Helper()
	if tok := e.cookie("slo"); tok != "" {
		e.t.Fatalf("a session cookie was set")
	}
}

func TestCallbackFailures(t *testing.T) {
	withQuery := func(u *url.URL, k, v string) *url.URL {
		c := *u
		q := c.Query()
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		c.RawQuery = q.Encode()
		return &c
	}
	tests := []struct {
		name   string
		hook   func(claims, header map[string]any)
		signed func(op *testop.OP) []testop.SignOption
		mangle func(e *env, cb *url.URL) *url.URL
	}{
		{name: "missing state", mangle: func(_ *env, cb *url.URL) *url.URL { return withQuery(cb, "state", "") }},
		{name: "mismatched state", mangle: func(_ *env, cb *url.URL) *url.URL { return withQuery(cb, "state", "other") }},
		{name: "OP error", mangle: func(_ *env, cb *url.URL) *url.URL {
			c := withQuery(cb, "code", "")
			return withQuery(c, "error", "access_denied")
		}},
		{name: "RFC 9207 iss mismatch", mangle: func(_ *env, cb *url.URL) *url.URL { return withQuery(cb, "iss", "https://evil.example") }},
		{name: "RFC 9207 iss missing", mangle: func(_ *env, cb *url.URL) *url.URL { return withQuery(cb, "iss", "") }},
		{name: "wrong nonce", hook: func(c, _ map[string]any) { c["nonce"] = "not-the-nonce" }},
		{name: "no nonce", hook: func(c, _ map[string]any) { delete(c, "nonce") }},
		{name: "wrong iss", hook: func(c, _ map[string]any) { c["iss"] = "https://evil.example" }},
		{name: "wrong aud", hook: func(c, _ map[string]any) { c["aud"] = "someone-else" }},
		{name: "extra aud without azp", hook: func(c, _ map[string]any) { c["aud"] = []string{"app", "someone-else"}; delete(c, "azp") }},
		{name: "wrong azp", hook: func(c, _ map[string]any) { c["azp"] = "someone-else" }},
		{name: "expired", hook: func(c, _ map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		}},
		{name: "issued in the future", hook: func(c, _ map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }},
		{name: "logout token typ", hook: func(_, h map[string]any) { h["typ"] = "logout+jwt" }},
		{name: "wrong key", signed: func(op *testop.OP) []testop.SignOption {
			return []testop.SignOption{testop.WithKey(op.ForeignKey())}
		}},
		{name: "wrong alg", signed: func(*testop.OP) []testop.SignOption { return []testop.SignOption{testop.WithAlg("ES256")} }},
		{name: "alg none", signed: func(*testop.OP) []testop.SignOption { return []testop.SignOption{testop.WithAlg("none")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			if tt.hook != nil {
				e.op.SetIDTokenHook(tt.hook)
			}
			if tt.signed != nil {
				e.op.SetIDTokenSignOptions(tt.signed(e.op)...)
			}
			cb := e.authorize(e.startLogin())
			if tt.mangle != nil {
				cb = tt.mangle(e, cb)
			}
			if code := e.callback(cb); code != http.StatusBadRequest {
				t.Fatalf("callback answered %d, want 400", code)
			}
			e.noSessionCreated()
		})
	}
}

// TestCallbackStateIsSingleUse: a replayed callback, with the login cookie
// restored, is refused by the middleware's own single-use check: it never
// reaches the OP's token endpoint a second time.
func TestCallbackStateIsSingleUse(t *testing.T) {
	te := &tokenEndpoint{}
	e := newEnv(t, envOptions{rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: te} }})
	authURL := e.startLogin()
	cb := e.authorize(authURL)
	state := authURL.Query().Get("state")
	name := "slo_login_" + state[:12]
	loginCookie := e.cookie(name)
	if loginCookie == "" {
		t.Fatalf("no login cookie %s", name)
	}
	if code := e.callback(cb); code != http.StatusSeeOther {
		t.Fatalf("first callback = %d", code)
	}
	first := e.sessionID()

	// Replaying the callback with the login cookie restored must not log in.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, cb.String(), nil)
	req.Header.Set("Cookie", name+"="+loginCookie)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback = %d, want 400", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "slo" && c.Value != "" {
			t.Fatal("replayed callback set a session cookie")
		}
	}
	if _, err := e.store.Get(t.Context(), first); err != nil {
		t.Fatalf("the first session was touched: %v", err)
	}
	if n := te.codes.Load(); n != 1 {
		t.Fatalf("%d code exchanges at the OP, want 1: the replay reached the token endpoint", n)
	}
}

// TestSessionCookieAttributes pins the session cookie a successful callback
// sets: HttpOnly, SameSite=Lax, Path=/, and with https Secure and the
// __Host- prefix.
func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprint("secure=", secure), func(t *testing.T) {
			e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.Secure = &secure }})
			cb := e.authorize(e.startLogin())
			resp, err := e.noRedirect().Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			name := "slo"
			if secure {
				name = "__Host-slo"
			}
			var c *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == name && ck.Value != "" {
					c = ck
				}
			}
			if c == nil {
				t.Fatalf("no session cookie %s in %q", name, resp.Header.Values("Set-Cookie"))
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure || c.Domain != "" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", c, secure)
			}
			if c.MaxAge <= 0 || c.Expires.IsZero() {
				t.Errorf("session cookie without a lifetime: %+v", c)
			}
		})
	}
}

// deletingStore ends a session right after handing it out, as a
// back-channel logout racing with a request would.
type deletingStore struct {
	sessionstore.Store
	mu    sync.Mutex
	armed bool
}

func (d *deletingStore) arm() {
	d.mu.Lock()
	d.armed = true
	d.mu.Unlock()
}

func (d *deletingStore) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	s, err := d.Store.Get(ctx, id)
	d.mu.Lock()
	armed := d.armed
	d.mu.Unlock()
	if err == nil && armed {
		d.Store.Delete(ctx, id)
	}
	return s, err
}

func TestRefresh(t *testing.T) {
	clk := &clock{now: time.Now()}
	ds := &deletingStore{Store: memstore.New(memstore.Config{})}
	e := newEnv(t, envOptions{
		opConfig: testop.Config{AccessTokenTTL: time.Minute},
		store:    ds,
		mwConfig: func(c *middleware.Config) { c.Now = clk.Now },
	})
	e.login()
	id := e.sessionID()
	before, err := ds.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}

	// The access token expired: the next request renews it.
	clk.Advance(2 * time.Minute)
	if code, _, body := e.get("/private/x"); code != http.StatusOK || !strings.HasPrefix(body, "private alice") {
		t.Fatalf("request after expiry: %d %q", code, body)
	}
	after, err := ds.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Data.AccessToken == before.Data.AccessToken || after.Data.RefreshToken == before.Data.RefreshToken ||
		!after.Data.TokenExpiry.After(before.Data.TokenExpiry) {
		t.Fatalf("tokens not renewed: before %v, after %v", before.Data.TokenExpiry, after.Data.TokenExpiry)
	}
	if after.SID != before.SID {
		t.Fatalf("refresh changed the sid")
	}

	// A logout racing with a refresh wins: the refreshed session is not
	// written back.
	clk.Advance(2 * time.Minute)
	ds.arm()
	resp, err := e.noRedirect().Get(e.app.URL + "/private/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("request racing a logout = %d, want a redirect to login", resp.StatusCode)
	}
	if _, err := ds.Store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("refresh resurrected a logged-out session: %v", err)
	}
}
