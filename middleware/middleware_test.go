package middleware_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

func TestLoginRequestSignOutRoundTrip(t *testing.T) {
	e := newEnv(t, envOptions{})

	// A protected page sends an anonymous user through the OP and back.
	code, u, body := e.get("/private/page?x=1")
	if code != http.StatusOK || u.Path != "/private/page" || u.RawQuery != "x=1" {
		t.Fatalf("protected page after login: %d %s", code, u)
	}
	sids := e.op.SessionSIDs("alice")
	if len(sids) != 1 {
		t.Fatalf("OP sessions of alice = %v, want one", sids)
	}
	if want := "private alice " + sids[0]; body != want {
		t.Fatalf("body = %q, want %q", body, want)
	}
	id := e.sessionID()
	s, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.Issuer != e.op.Issuer() || s.Subject != "alice" || s.SID != sids[0] || s.Data.IDToken == "" || s.Data.RefreshToken == "" {
		t.Fatalf("stored session = %+v", s)
	}

	// Sign-out ends the local session before anything else and sends the
	// browser to the OP with every parameter of RP-initiated logout.
	resp, err := e.noRedirect().PostForm(e.app.URL+"/logout", url.Values{"return_to": {"/private/after"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out status = %d", resp.StatusCode)
	}
	if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("session after sign-out: %v, want ErrNotFound", err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host != e.op.Issuer() ||
		q.Get("id_token_hint") != s.Data.IDToken ||
		q.Get("client_id") != "app" ||
		q.Get("post_logout_redirect_uri") != e.app.URL+"/logged-out" ||
		len(q.Get("state")) < 20 {
		t.Fatalf("end-session request = %s", loc)
	}
	evs := e.logoutEvents()
	if len(evs) != 1 || evs[0].Channel != logout.ChannelRPInitiated || evs[0].Ended != 1 ||
		evs[0].SID != sids[0] || evs[0].Subject != "alice" || evs[0].Err != nil {
		t.Fatalf("events = %+v", evs)
	}

	// The OP ends its session and sends the browser back with the state,
	// which leads to the return_to of the sign-out.
	resp, err = e.noRedirect().Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if back.Path != "/logged-out" || back.Query().Get("state") != q.Get("state") {
		t.Fatalf("OP sent the browser to %s", back)
	}
	if got := e.op.SessionSIDs("alice"); len(got) != 0 {
		t.Fatalf("OP sessions after logout = %v", got)
	}
	resp, err = e.noRedirect().Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private/after" {
		t.Fatalf("post-logout return: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _, body := e.get("/"); code != http.StatusOK || body != "anonymous" {
		t.Fatalf("after sign-out: %d %q", code, body)
	}
}

func TestSignOutRefusesOtherMethodsAndCrossOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	id := e.sessionID()

	if code, _, _ := e.get("/logout"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout = %d, want 405", code)
	}
	for name, hdr := range map[string]http.Header{
		"sec-fetch-site": {"Sec-Fetch-Site": {"cross-site"}},
		"origin":         {"Origin": {"https://evil.example"}},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, _ := e.do(http.MethodPost, "/logout", url.Values{}, hdr)
			if code != http.StatusForbidden {
				t.Errorf("cross-origin POST = %d, want 403", code)
			}
		})
	}
	if _, err := e.store.Get(t.Context(), id); err != nil {
		t.Fatalf("a refused sign-out ended the session: %v", err)
	}
	if evs := e.logoutEvents(); len(evs) != 0 {
		t.Fatalf("refused sign-outs emitted events: %+v", evs)
	}
}

func TestSignOutReturnTo(t *testing.T) {
	bad := []string{
		"//evil.example",
		"/\\evil.example",
		"https://evil.example/",
		"https://evil.example\\@rp.example/",
		"javascript:alert(1)",
		"/ok%0d%0aSet-Cookie:x=1",
		"/ok\r\nSet-Cookie:x=1",
		"/%2F%2Fevil.example",
		"/%5Cevil.example",
		"evil.example",
		"http:/evil.example",
		"/\tevil",
	}
	e := newEnv(t, envOptions{})
	e.login()
	id := e.sessionID()
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			code, _, _ := e.do(http.MethodPost, "/logout", url.Values{"return_to": {v}}, nil)
			if code != http.StatusBadRequest {
				t.Errorf("return_to %q: status %d, want 400", v, code)
			}
			if _, err := e.store.Get(t.Context(), id); err != nil {
				t.Fatalf("return_to %q ended the session: %v", v, err)
			}
			if code, _, _ := e.get("/login?return_to=" + url.QueryEscape(v)); code != http.StatusBadRequest {
				t.Errorf("login return_to %q: status %d, want 400", v, code)
			}
		})
	}
	code, _, _ := e.do(http.MethodPost, "/logout", url.Values{"return_to": {"/a", "/b"}}, nil)
	if code != http.StatusBadRequest {
		t.Errorf("two return_to values: %d, want 400", code)
	}
}

func TestLoggedOutState(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	resp, err := e.noRedirect().PostForm(e.app.URL+"/logout", url.Values{"return_to": {"/done"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	logoutCookie := e.cookie("slo_logout")
	if logoutCookie == "" {
		t.Fatal("no logout cookie")
	}

	neutral := func(t *testing.T, query, cookie string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/logged-out"+query, nil)
		if cookie != "" {
			req.Header.Set("Cookie", "slo_logout="+cookie)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: %d %q, want the neutral 200 page", query, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	t.Run("wrong state", func(t *testing.T) { neutral(t, "?state=nope", logoutCookie) })
	t.Run("missing state", func(t *testing.T) { neutral(t, "", logoutCookie) })
	t.Run("state without cookie", func(t *testing.T) { neutral(t, "?state="+url.QueryEscape(state), "") })
	t.Run("two states", func(t *testing.T) {
		neutral(t, "?state="+url.QueryEscape(state)+"&state=x", logoutCookie)
	})

	// A HEAD (a prefetcher) does not use the state up.
	head, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, e.app.URL+"/logged-out?state="+url.QueryEscape(state), nil)
	head.Header.Set("Cookie", "slo_logout="+logoutCookie)
	if resp, err := http.DefaultTransport.RoundTrip(head); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %v %v", resp, err)
	}

	// The right state works once, with extra parameters ignored.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/logged-out?extra=1&state="+url.QueryEscape(state), nil)
	req.Header.Set("Cookie", "slo_logout="+logoutCookie)
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/done" {
		t.Fatalf("valid state: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	t.Run("replayed state", func(t *testing.T) { neutral(t, "?state="+url.QueryEscape(state), logoutCookie) })
}

func TestSignOutWithoutSessionOrEndSessionEndpoint(t *testing.T) {
	t.Run("no session", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		resp, err := e.noRedirect().PostForm(e.app.URL+"/logout", url.Values{"return_to": {"/bye"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/bye" {
			t.Fatalf("sign-out without session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if evs := e.logoutEvents(); len(evs) != 1 || evs[0].Ended != 0 || evs[0].Err != nil {
			t.Fatalf("events = %+v", evs)
		}
	})
	t.Run("no end_session_endpoint", func(t *testing.T) {
		e := newEnv(t, envOptions{opConfig: testop.Config{NoEndSession: true}})
		e.login()
		id := e.sessionID()
		code, u, body := e.do(http.MethodPost, "/logout", url.Values{}, nil)
		if code != http.StatusOK || u.Host != strings.TrimPrefix(e.app.URL, "http://") || u.Path != "/" || body != "anonymous" {
			t.Fatalf("sign-out without end_session_endpoint ended at %d %s %q", code, u, body)
		}
		if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Fatalf("local session survived: %v", err)
		}
	})
}

func TestLoginRotatesSessionID(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	first := e.sessionID()
	e.login()
	second := e.sessionID()
	if first == "" || second == "" || first == second {
		t.Fatalf("session ids %q then %q, want two different ones", first, second)
	}
	if _, err := e.store.Get(t.Context(), first); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("the pre-login session survived the new login: %v", err)
	}
	if _, err := e.store.Get(t.Context(), second); err != nil {
		t.Fatal(err)
	}
}

func TestStoreFailureFailsClosed(t *testing.T) {
	fs := &failingStore{Store: memstore.New(memstore.Config{})}
	e := newEnv(t, envOptions{store: fs})
	e.login()
	id := e.sessionID()

	fs.set(true)
	if code, _, _ := e.get("/private/x"); code != http.StatusServiceUnavailable {
		t.Errorf("RequireLogin with a failing store = %d, want 503", code)
	}
	if code, _, body := e.get("/"); code != http.StatusOK || body != "anonymous" {
		t.Errorf("LoadSession with a failing store = %d %q, want anonymous", code, body)
	}

	fs.set(false)
	if code, _, body := e.get("/private/x"); code != http.StatusOK || !strings.HasPrefix(body, "private alice") {
		t.Fatalf("after recovery: %d %q", code, body)
	}
	if e.sessionID() != id {
		t.Fatal("the session changed although the store came back")
	}
}

// TestSignOutWithStoreDown is P-9: signing out while the store is down
// clears the cookie and still sends the browser to the OP's end-session
// endpoint (client_id, post_logout_redirect_uri, state), reports the store
// error in the logout event and logs it at Error; once the store is back,
// the browser is not signed in.
func TestSignOutWithStoreDown(t *testing.T) {
	fs := &failingStore{Store: memstore.New(memstore.Config{})}
	e := newEnv(t, envOptions{store: fs})
	e.login()
	id := e.sessionID()

	fs.set(true)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.app.URL+"/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out with the store down = %d, want 303 to the OP", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host != e.op.Issuer() || q.Get("client_id") != "app" ||
		q.Get("post_logout_redirect_uri") != e.app.URL+"/logged-out" || q.Get("state") == "" {
		t.Fatalf("end-session request = %s", loc)
	}
	if e.cookie("slo") != "" {
		t.Error("the session cookie survived the sign-out")
	}
	evs := e.logoutEvents()
	if len(evs) != 1 || evs[0].Channel != logout.ChannelRPInitiated || !errors.Is(evs[0].Err, errBroken) {
		t.Fatalf("events = %+v, want one rp-initiated event carrying the store error", evs)
	}
	if !strings.Contains(e.logs(), "level=ERROR") {
		t.Errorf("the store failure was not logged at Error: %s", e.logs())
	}

	// The store comes back with the session still in it, but the browser
	// no longer names it.
	fs.set(false)
	if code, _, body := e.get("/"); code != http.StatusOK || body != "anonymous" {
		t.Fatalf("after the store came back: %d %q, want anonymous", code, body)
	}
	if _, err := fs.Store.Get(t.Context(), id); err != nil {
		t.Fatalf("the session, which the failed delete left, is gone: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, _, body := e.get("/.well-known/oidc-client")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var reg map[string]any
	if err := json.Unmarshal([]byte(body), &reg); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"client_id":                            "app",
		"frontchannel_logout_uri":              e.app.URL + "/frontchannel-logout",
		"frontchannel_logout_session_required": true,
		"backchannel_logout_uri":               e.app.URL + "/backchannel-logout",
		"backchannel_logout_session_required":  true,
		"token_endpoint_auth_method":           "client_secret_basic",
	}
	for k, v := range want {
		if reg[k] != v {
			t.Errorf("%s = %v, want %v", k, reg[k], v)
		}
	}
	if r, _ := reg["redirect_uris"].([]any); len(r) != 1 || r[0] != e.app.URL+"/callback" {
		t.Errorf("redirect_uris = %v", reg["redirect_uris"])
	}
	if r, _ := reg["post_logout_redirect_uris"].([]any); len(r) != 1 || r[0] != e.app.URL+"/logged-out" {
		t.Errorf("post_logout_redirect_uris = %v", reg["post_logout_redirect_uris"])
	}
}

// clock is a settable clock shared by the middleware and its store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestIdleTimeoutAndAbsoluteLifetime(t *testing.T) {
	clk := &clock{now: time.Now()}
	store := memstore.New(memstore.Config{Now: clk.Now})
	e := newEnv(t, envOptions{store: store, mwConfig: func(c *middleware.Config) {
		c.Now = clk.Now
		c.IdleTimeout = 10 * time.Minute
		c.AbsoluteLifetime = 30 * time.Minute
	}})
	e.login()
	id := e.sessionID()
	status := func() int {
		resp, err := e.noRedirect().Get(e.app.URL + "/private/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Activity every 8 minutes keeps the 10-minute idle deadline sliding…
	for i := 1; i <= 3; i++ {
		clk.Advance(8 * time.Minute)
		if code := status(); code != http.StatusOK {
			t.Fatalf("active session refused at +%d min: %d", 8*i, code)
		}
	}
	// …but not past the absolute lifetime.
	clk.Advance(8 * time.Minute)
	if code := status(); code != http.StatusSeeOther {
		t.Fatalf("session beyond its absolute lifetime answered %d, want a redirect to login", code)
	}
	if _, err := store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("session beyond its absolute lifetime: %v", err)
	}

	e.login()
	id = e.sessionID()
	clk.Advance(11 * time.Minute)
	if code := status(); code != http.StatusSeeOther {
		t.Fatalf("idle session answered %d, want a redirect to login", code)
	}
	if _, err := store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("idle session still live: %v", err)
	}
}

func TestSignOutWithLongIDTokenPostsAForm(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.op.SetIDTokenHook(func(c, _ map[string]any) { c["padding"] = strings.Repeat("x", 3000) })
	e.login()
	id := e.sessionID()
	s, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.noRedirect().PostForm(e.app.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("sign-out answered %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{
		`method="post"`, `action="` + e.op.Issuer() + `/end_session"`,
		`name="id_token_hint" value="` + s.Data.IDToken + `"`,
		`name="post_logout_redirect_uri"`, `name="state"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the end-session form lacks %q", want)
		}
	}
	if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("local session survived: %v", err)
	}
}

// TestResponsesAreNotCached checks Cache-Control: no-store on every
// response of the login and logout flows.
func TestResponsesAreNotCached(t *testing.T) {
	e := newEnv(t, envOptions{})
	check := func(name string, resp *http.Response) {
		t.Helper()
		resp.Body.Close()
		if !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
			t.Errorf("%s (%d): Cache-Control %q", name, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	c := e.noRedirect()
	resp, err := c.Get(e.app.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	check("login", resp)
	cb := e.authorize(must(url.Parse(resp.Header.Get("Location"))))
	resp, err = c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	check("callback", resp)
	resp, err = c.Get(e.app.URL + "/callback?state=nope&code=x")
	if err != nil {
		t.Fatal(err)
	}
	check("bad callback", resp)
	resp, err = c.PostForm(e.app.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	check("sign-out", resp)
	resp, err = c.Get(e.app.URL + "/logged-out?state=x")
	if err != nil {
		t.Fatal(err)
	}
	check("logged-out", resp)
	resp, err = c.Get(e.app.URL + "/private/x")
	if err != nil {
		t.Fatal(err)
	}
	check("RequireLogin redirect", resp)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSignOutDecryptsEncryptedIDTokenHint: an OP cannot read an ID token
// encrypted to the RP, so id_token_hint carries the signed token inside
// (RP-Initiated Logout 1.0 §2).
func TestSignOutDecryptsEncryptedIDTokenHint(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{rpConfig: func(c *rp.Config) {
		c.DecryptionKeys = []jose.JSONWebKey{{Key: key, KeyID: "enc-1", Use: "enc", Algorithm: string(jose.RSA_OAEP_256)}}
	}})
	e.op.SetIDTokenSignOptions(testop.WithEncryption(&key.PublicKey, jose.RSA_OAEP_256, jose.A256GCM))
	e.login()
	s, err := e.store.Get(t.Context(), e.sessionID())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(s.Data.IDToken, ".") != 4 {
		t.Fatalf("stored ID token is not a JWE: %d dots", strings.Count(s.Data.IDToken, "."))
	}
	resp, err := e.noRedirect().PostForm(e.app.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	hint := loc.Query().Get("id_token_hint")
	if strings.Count(hint, ".") != 2 {
		t.Fatalf("id_token_hint is not a compact JWS: %q", hint)
	}
	if _, err := e.client.VerifyIDToken(t.Context(), hint, ""); err == nil {
		// The client refuses unencrypted ID tokens when it has decryption
		// keys, which proves the hint is the inner signed token.
		t.Fatal("the client accepted the hint as an ID token")
	}
	if _, err := jose.ParseSignedCompact(hint, []jose.SignatureAlgorithm{jose.RS256}); err != nil {
		t.Fatalf("id_token_hint does not parse as a JWS: %v", err)
	}
}

// TestOriginIsSerialisedAsBrowsersDo: the redirect URL's origin is kept as
// a browser reports it (lower case, no default port), so a post-logout URL
// spelled differently on the same origin is accepted and the registered
// logout URIs are canonical.
func TestOriginIsSerialisedAsBrowsersDo(t *testing.T) {
	op := rptest.NewServer(rptest.Options{})
	t.Cleanup(op.Close)
	client, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s",
		RedirectURL:           "https://App.Example:443/callback",
		PostLogoutRedirectURL: "https://app.example/logged-out",
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(middleware.Config{Client: client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("same origin spelled two ways refused: %v", err)
	}
	reg := m.Registration()
	if reg.FrontChannelLogoutURI != "https://app.example/frontchannel-logout" ||
		reg.BackChannelLogoutURI != "https://app.example/backchannel-logout" {
		t.Fatalf("registration = %+v", reg)
	}
}

// TestLoginCookiesStaySmall is P-10: a browser that starts 100 logins in a
// row (each with the longest return_to) keeps its login cookies under 8 KB
// together, and the newest login still completes.
func TestLoginCookiesStaySmall(t *testing.T) {
	e := newEnv(t, envOptions{})
	returnTo := "/" + strings.Repeat("a", 1023)
	var last string
	for range 100 {
		resp, err := e.noRedirect().Get(e.app.URL + "/login?return_to=" + url.QueryEscape(returnTo))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET /login = %d", resp.StatusCode)
		}
		last = resp.Header.Get("Location")
	}
	u, _ := url.Parse(e.app.URL)
	total, logins := 0, 0
	for _, c := range e.jar.Cookies(u) {
		total += len(c.Name) + 1 + len(c.Value) + 2 // "name=value; "
		if strings.HasPrefix(c.Name, "slo_login_") {
			logins++
		}
	}
	if total >= 8<<10 || logins > 3 {
		t.Fatalf("after 100 logins the browser sends %d bytes of cookies, %d login cookies; want < 8 KB and at most 3", total, logins)
	}
	code, final, _ := e.get(last)
	if code != http.StatusNotFound || final.Path != returnTo {
		t.Fatalf("the newest login ended at %d %s, want its return_to", code, final.Path)
	}
	if e.sessionID() == "" {
		t.Fatal("the newest login created no session")
	}
}
