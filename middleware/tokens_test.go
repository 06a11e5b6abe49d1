package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// tokenEndpoint counts the refresh requests the client sends to the OP and
// can make the token endpoint fail.
type tokenEndpoint struct {
	codes     atomic.Int32 // authorization_code grants
	refreshes atomic.Int32
	failing   atomic.Bool
	gate      chan struct{} // when set, refresh requests wait for it
	arrived   chan struct{} // with gate: closed when the first refresh waits
	once      sync.Once
	// before, when set, runs before the first refresh request is sent.
	before func()
}

func (te *tokenEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, testop.PathToken) && r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		q, _ := url.ParseQuery(string(body))
		if q.Get("grant_type") == "authorization_code" {
			te.codes.Add(1)
		}
		if q.Get("grant_type") == "refresh_token" {
			if te.refreshes.Add(1) == 1 && te.before != nil {
				te.before()
			}
			if te.gate != nil {
				te.once.Do(func() { close(te.arrived) })
				<-te.gate
			}
			if te.failing.Load() {
				return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("down")),
					Header: http.Header{}, Request: r}, nil
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// newTokenEnv is an env whose access tokens live a minute, on a clock the
// test moves.
func newTokenEnv(t *testing.T, te *tokenEndpoint) (*env, *clock) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, envOptions{
		opConfig: testop.Config{AccessTokenTTL: time.Minute},
		mwConfig: func(c *middleware.Config) { c.Now = clk.Now },
		rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: te} },
	})
	e.login()
	return e, clk
}

// withSession runs fn with a request context that carries the browser's
// session, as a handler behind LoadSession would.
func (e *env) withSession(fn func(ctx context.Context)) {
	e.t.Helper()
	req := httptest.NewRequestWithContext(e.t.Context(), http.MethodGet, e.app.URL+"/api", nil)
	u, _ := url.Parse(e.app.URL)
	for _, c := range e.jar.Cookies(u) {
		req.AddCookie(c)
	}
	called := false
	e.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		fn(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), req)
	if !called {
		e.t.Fatal("handler not called")
	}
}

func (e *env) session() *sessionstore.Session {
	e.t.Helper()
	s, err := e.store.Get(e.t.Context(), e.sessionID())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestTokenSourceConcurrentRefresh: twenty concurrent users of one
// session's token source, after its access token expired, cause one
// refresh at the OP; all get the new token, and the store keeps the
// rotated tokens.
func TestTokenSourceConcurrentRefresh(t *testing.T) {
	te := &tokenEndpoint{gate: make(chan struct{}), arrived: make(chan struct{})}
	e, clk := newTokenEnv(t, te)
	before := e.session()
	var ctxs []context.Context
	for range 20 {
		e.withSession(func(ctx context.Context) { ctxs = append(ctxs, ctx) })
	}
	clk.Advance(2 * time.Minute)

	var wg sync.WaitGroup
	tokens := make([]string, len(ctxs))
	errs := make([]error, len(ctxs))
	for i, ctx := range ctxs {
		wg.Go(func() {
			tok, err := e.m.TokenSource(ctx).Token()
			if err == nil {
				tokens[i] = tok.AccessToken
			}
			errs[i] = err
		})
	}
	// Let the first refresh through once it is at the OP. The others
	// either wait for it in the process or, coming later, find its tokens
	// in the store: either way none reaches the OP.
	<-te.arrived
	close(te.gate)
	wg.Wait()
	if n := te.refreshes.Load(); n != 1 {
		t.Fatalf("%d refresh requests reached the OP, want 1", n)
	}
	after := e.session()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != after.Data.AccessToken {
			t.Fatalf("user %d got %q, %v; want the stored new token", i, tokens[i], errs[i])
		}
	}
	if after.Data.AccessToken == before.Data.AccessToken || after.Data.RefreshToken == before.Data.RefreshToken {
		t.Fatal("the store kept the old tokens")
	}
	// Rotation: the old refresh token is spent at the OP.
	if _, err := e.client.Refresh(t.Context(), before.Data.RefreshToken, "alice"); err == nil {
		t.Error("the old refresh token still works at the OP")
	}
	// And the new one works for the next round.
	clk.Advance(2 * time.Minute)
	e.withSession(func(ctx context.Context) {
		tok, err := e.m.TokenSource(ctx).Token()
		if err != nil || tok.AccessToken == after.Data.AccessToken {
			t.Fatalf("second refresh: %v, %v", tok, err)
		}
	})
}

// TestHTTPClientSendsBearer: the session's HTTP client sends its access
// token.
func TestHTTPClientSendsBearer(t *testing.T) {
	e, _ := newTokenEnv(t, &tokenEndpoint{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Authorization"))
	}))
	defer api.Close()
	e.withSession(func(ctx context.Context) {
		resp, err := e.m.HTTPClient(ctx).Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if want := "Bearer " + e.session().Data.AccessToken; string(b) != want {
			t.Errorf("API saw %q, want %q", b, want)
		}
	})
	// Without a session there is no token.
	if _, err := e.m.TokenSource(t.Context()).Token(); !errors.Is(err, middleware.ErrNoSession) {
		t.Errorf("Token without a session = %v, want ErrNoSession", err)
	}
}

// TestRefreshInvalidGrantEndsSession is P-13: the OP refuses the refresh
// token (the grant ended there), so the session ends with a logout event
// and the user is sent to login.
func TestRefreshInvalidGrantEndsSession(t *testing.T) {
	te := &tokenEndpoint{}
	e, clk := newTokenEnv(t, te)
	s := e.session()
	// The OP revokes the grant (an administrator, or the OP session ended
	// without a logout reaching the app).
	if err := e.client.Revoke(t.Context(), s.Data.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	resp, err := e.noRedirect().Get(e.app.URL + "/private/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("request after invalid_grant = %d %q, want a redirect to login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.store.Get(t.Context(), s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("session after invalid_grant: %v, want ErrNotFound", err)
	}
	evs := e.logoutEvents()
	if len(evs) != 1 || evs[0].Channel != logout.ChannelRefresh || evs[0].Ended != 1 || evs[0].Subject != "alice" || evs[0].Err != nil {
		t.Fatalf("events = %+v, want one refresh logout", evs)
	}
	if n := te.refreshes.Load(); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
}

// TestRefreshFailureBacksOff is P-13's other half: a refresh that fails for
// another reason keeps the session and is not retried on every request.
func TestRefreshFailureBacksOff(t *testing.T) {
	te := &tokenEndpoint{}
	e, clk := newTokenEnv(t, te)
	old := e.session()
	te.failing.Store(true)
	clk.Advance(2 * time.Minute)
	for range 5 {
		if code, _, body := e.get("/private/x"); code != http.StatusOK || !strings.HasPrefix(body, "private alice") {
			t.Fatalf("request with the OP failing: %d %q, want the page", code, body)
		}
	}
	if n := te.refreshes.Load(); n != 1 {
		t.Fatalf("%d refresh requests in the back-off, want 1", n)
	}
	e.withSession(func(ctx context.Context) {
		if _, err := e.m.TokenSource(ctx).Token(); !errors.Is(err, middleware.ErrRefresh) {
			t.Errorf("Token during the back-off = %v, want ErrRefresh", err)
		}
	})
	if n := te.refreshes.Load(); n != 1 {
		t.Fatalf("TokenSource called the OP during the back-off (%d requests)", n)
	}
	// After the back-off, the next request tries again, and it doubles.
	clk.Advance(5 * time.Second)
	e.get("/private/x")
	clk.Advance(5 * time.Second)
	e.get("/private/x")
	if n := te.refreshes.Load(); n != 2 {
		t.Fatalf("%d refresh requests after 10 s, want 2 (the second wait is 10 s)", n)
	}
	// The OP recovers.
	te.failing.Store(false)
	clk.Advance(10 * time.Second)
	e.get("/private/x")
	if s := e.session(); s.Data.AccessToken == old.Data.AccessToken {
		t.Fatal("tokens not renewed after the OP recovered")
	}
}

// TestRefreshLostRace: another replica refreshed the session with the same
// refresh token just before this one's request reached the OP, so the OP
// (rotating refresh tokens) refuses it with invalid_grant; the session goes
// on with the other replica's tokens.
func TestRefreshLostRace(t *testing.T) {
	te := &tokenEndpoint{}
	e, clk := newTokenEnv(t, te)
	var ctx context.Context
	e.withSession(func(c context.Context) { ctx = c })
	s := e.session()
	n := s.Clone()
	te.before = func() {
		// The other replica, between this one's read of the store and its
		// request to the OP.
		te.before = nil
		res, err := e.client.Refresh(context.Background(), s.Data.RefreshToken, "alice")
		if err != nil {
			t.Error(err)
			return
		}
		n.Data.AccessToken, n.Data.RefreshToken, n.Data.TokenExpiry = res.Token.AccessToken, res.Token.RefreshToken, clk.Now().Add(time.Hour)
		if err := e.store.Update(context.Background(), n); err != nil {
			t.Error(err)
		}
	}
	clk.Advance(2 * time.Minute)
	tok, err := e.m.TokenSource(ctx).Token()
	if err != nil || tok.AccessToken != n.Data.AccessToken {
		t.Fatalf("Token = %v, %v; want the other replica's token", tok, err)
	}
	if _, err := e.store.Get(t.Context(), s.ID); err != nil {
		t.Fatalf("the lost race ended the session: %v", err)
	}
	if evs := e.logoutEvents(); len(evs) != 0 {
		t.Fatalf("events = %+v, want none", evs)
	}
	if got := te.refreshes.Load(); got != 2 {
		t.Fatalf("%d refresh requests, want 2 (the other replica's and the refused one)", got)
	}
}

// revokeWatch reports the revocation requests the client sends.
type revokeWatch struct {
	revoked chan string // the revoked tokens, as the OP answered them
}

func (rw *revokeWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, testop.PathRevoke) {
		rw.revoked <- r.URL.Path
	}
	return resp, err
}

func signOut(t *testing.T, e *env) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.app.URL+"/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestSignOutRevokesRefreshToken: sign-out revokes the session's refresh
// token at the OP's revocation endpoint, in the background; with
// KeepRefreshTokens it does not.
func TestSignOutRevokesRefreshToken(t *testing.T) {
	rw := &revokeWatch{revoked: make(chan string, 4)}
	e := newEnv(t, envOptions{rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: rw} }})
	e.login()
	rt := e.session().Data.RefreshToken
	resp := signOut(t, e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", resp.StatusCode)
	}
	select {
	case <-rw.revoked:
	case <-time.After(10 * time.Second):
		t.Fatal("no revocation request within 10 s")
	}
	if !e.op.Revoked(rt) {
		t.Fatal("the OP did not see the session's refresh token revoked")
	}

	rw = &revokeWatch{revoked: make(chan string, 4)}
	e = newEnv(t, envOptions{rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: rw} },
		mwConfig: func(c *middleware.Config) { c.KeepRefreshTokens = true }})
	e.login()
	rt = e.session().Data.RefreshToken
	signOut(t, e).Body.Close()
	if len(rw.revoked) != 0 || e.op.Revoked(rt) {
		t.Fatal("KeepRefreshTokens: the refresh token was revoked")
	}
}

// TestEndSessionPOST: with EndSessionPOST the sign-out answers a self-
// submitting form to the end-session endpoint, and the ID token is in its
// body, not in a URL.
func TestEndSessionPOST(t *testing.T) {
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.EndSessionPOST = true }})
	e.login()
	idt := e.session().Data.IDToken
	resp := signOut(t, e)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" ||
		!strings.Contains(string(body), `method="post"`) || !strings.Contains(string(body), idt) ||
		!strings.Contains(string(body), e.op.Issuer()+testop.PathEndSession) {
		t.Fatalf("sign-out = %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// TestBackChannelLogoutRevokesRefreshToken: the sessions a back-channel
// logout ends have their refresh tokens revoked at the OP, in the
// background.
func TestBackChannelLogoutRevokesRefreshToken(t *testing.T) {
	rw := &revokeWatch{revoked: make(chan string, 4)}
	e := newEnv(t, envOptions{backChannel: true, rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: rw} }})
	e.login()
	rt := e.session().Data.RefreshToken
	if ds := e.op.EndSession(t.Context(), "alice"); len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("back-channel deliveries %+v", ds)
	}
	select {
	case <-rw.revoked:
	case <-time.After(10 * time.Second):
		t.Fatal("no revocation request within 10 s")
	}
	if !e.op.Revoked(rt) {
		t.Fatal("the OP did not see the ended session's refresh token revoked")
	}
}
