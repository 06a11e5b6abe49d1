package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// fate is what the soak test does to a session.
type fate int

const (
	keep    fate = iota // nothing: it must still work at the end
	bySID               // back-channel logout token with its sid
	signOut             // POST /logout with its cookie
	bySub               // back-channel logout token with only its subject
)

// soakSession is one session of the soak test.
type soakSession struct {
	user  int
	fate  fate
	token string // the session cookie, set by its login
	sid   string
}

// soakEnv is the system under test: the OP and two replicas sharing one
// store. The test calls the replicas' handlers directly (no sockets), so
// that ten thousand logins fit in the time budget; only the replicas'
// calls to the OP (discovery, keys, the token exchange) go over loopback.
type soakEnv struct {
	op       *testop.OP
	store    sessionstore.Store
	public   string
	replicas []http.Handler
	opMu     sync.Mutex // serialises SetUser and the OP's authorize step
}

// TestSoak runs 10,000 sessions of 1,000 users (1,000 of 100 with -short)
// against memstore, Redis and PostgreSQL, from 16 concurrent workers: every
// session comes from a login through the handlers and the OP, is used, and
// is then logged out by a back-channel logout token with its sid, signed
// out, logged out with the rest of its user's sessions by a token with only
// the subject, or kept. At the end every session a logout named is gone
// from the store and its cookie no longer logs in, and every other session
// still does.
func TestSoak(t *testing.T) {
	users := 1000
	if testing.Short() {
		users = 100
	}
	for _, kind := range []string{"memory", "redis", "postgres"} {
		t.Run(kind, func(t *testing.T) { testSoak(t, kind, users) })
	}
}

func testSoak(t *testing.T, kind string, users int) {
	const perUser, workers = 10, 16
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // bounds every store and OP call
	defer cancel()
	env := newSoakEnv(t, kind)
	start := time.Now()

	// Fates: every tenth user is logged out by subject (all ten sessions);
	// other users' sessions are logged out by sid, signed out or kept.
	rng := mrand.New(mrand.NewPCG(1, uint64(users)))
	var all []*soakSession
	for u := range users {
		for range perUser {
			s := &soakSession{user: u}
			switch p := rng.IntN(10); {
			case u%10 == 0:
				s.fate = bySub
			case p < 1:
				s.fate = bySID
			case p < 2:
				s.fate = signOut
			}
			all = append(all, s)
		}
	}
	var fates [4]int
	for _, s := range all {
		fates[s.fate]++
	}
	for f, n := range fates {
		if n == 0 {
			t.Fatalf("no %s session among %d", fateName(fate(f)), len(all))
		}
	}

	// The run: one task per session, in random order, so that logins,
	// requests and logouts of different users interleave. A task logs its
	// session in, uses it and applies its fate; the task that completes a
	// by-subject user's last login then logs that user out.
	pending := make([]atomic.Int32, users)
	for u := range pending {
		pending[u].Store(perUser)
	}
	order := rng.Perm(len(all))
	runWorkers(t, workers, len(all), func(k int) error {
		i := order[k]
		s := all[i]
		if err := env.loginAndAct(ctx, s, i); err != nil {
			return err
		}
		if s.fate == bySub && pending[s.user].Add(-1) == 0 {
			return env.backChannel(ctx, env.op.LogoutClaims("app", user(s.user), ""), i)
		}
		return nil
	})
	if t.Failed() {
		t.FailNow()
	}
	ran := time.Since(start)

	// The check: every session through the handlers and in the store.
	var ended, kept atomic.Int64
	runWorkers(t, workers, len(all), func(i int) error {
		s := all[i]
		code, err := env.request(ctx, s.token, i)
		if err != nil {
			return err
		}
		if s.fate == keep {
			kept.Add(1)
			if code != http.StatusOK {
				return fmt.Errorf("kept session %d (user %d): status %d, want 200", i, s.user, code)
			}
			return nil
		}
		ended.Add(1)
		if code != http.StatusSeeOther {
			return fmt.Errorf("%s session %d (user %d): status %d, want 303 to the login", fateName(s.fate), i, s.user, code)
		}
		if _, err := env.store.Get(ctx, middleware.SessionID(s.token)); !errors.Is(err, sessionstore.ErrNotFound) {
			return fmt.Errorf("%s session %d (user %d) in the store: %v, want ErrNotFound", fateName(s.fate), i, s.user, err)
		}
		return nil
	})
	if ended.Load() == 0 || kept.Load() == 0 || int(ended.Load()+kept.Load()) != len(all) {
		t.Errorf("checked %d ended and %d kept sessions of %d", ended.Load(), kept.Load(), len(all))
	}
	t.Logf("%s: %d logins (%d kept, %d logged out by sid, %d signed out, %d logged out by sub); run %v, check %v",
		kind, len(all), fates[keep], fates[bySID], fates[signOut], fates[bySub], ran.Round(time.Millisecond),
		(time.Since(start) - ran).Round(time.Millisecond))
}

func user(u int) string { return fmt.Sprintf("user-%04d", u) }

func fateName(f fate) string {
	return [...]string{"kept", "sid-logged-out", "signed-out", "sub-logged-out"}[f]
}

// runWorkers calls f(0..n-1) from workers goroutines and reports the first
// errors. It stops handing out work after 10 errors.
func runWorkers(t *testing.T, workers, n int, f func(int) error) {
	t.Helper()
	var next, failures atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failures.Load() >= 10 {
					return
				}
				if err := f(i); err != nil {
					failures.Add(1)
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func newSoakEnv(t *testing.T, kind string) *soakEnv {
	ctx := t.Context()
	// The OP is internal/testop rather than rp/rptest (startOP): the soak
	// test calls its authorize endpoint in process (loginAndAct), which
	// rptest does not offer.
	env := &soakEnv{public: "http://127.0.0.1:9"}
	c := appClient(env.public)
	env.op = testop.NewServer(t, testop.Config{Logger: slog.New(slog.DiscardHandler), Clients: []testop.Client{{
		ID: c.ClientID, Secret: c.ClientSecret, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		BackChannelLogoutURI: c.BackChannelLogoutURI, BackChannelLogoutSessionRequired: c.BackChannelLogoutSessionRequired,
	}}})

	// Two replicas sharing the store; each has its own connections.
	var shared sharedStore
	var mem *memstore.Store
	var memUsed *memstore.SingleUse
	switch kind {
	case "memory":
		mem, memUsed = memstore.New(memstore.Config{}), memstore.NewSingleUse(memstore.SingleUseConfig{})
		env.store = mem
	default:
		shared = newSharedStore(t, kind)
	}
	key := randomKey()
	for i := range 2 {
		var st sessionstore.Store = mem
		var used sessionstore.SingleUse = memUsed
		if kind != "memory" {
			b, err := openBackend(ctx, shared.url, shared.prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			st, used = b.Store, b.SingleUse
			env.store = st
		}
		r, err := newReplica(ctx, appConfig{
			Name: fmt.Sprint(i + 1), Issuer: env.op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
			PublicURL: env.public, Key: key, Store: st, SingleUse: used,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		env.replicas = append(env.replicas, r)
	}
	return env
}

// serve sends req to replica i%2 and returns the response.
func (env *soakEnv) serve(i int, req *http.Request) *http.Response {
	w := httptest.NewRecorder()
	env.replicas[i%2].ServeHTTP(w, req)
	return w.Result()
}

// newRequest returns a request to the replicas, with the session cookie
// token if not empty and a form body if form is not nil.
func (env *soakEnv) newRequest(ctx context.Context, method, path, token string, form url.Values) *http.Request {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequestWithContext(ctx, method, env.public+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = navigate(httptest.NewRequestWithContext(ctx, method, env.public+path, nil))
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "slo", Value: token})
	}
	return req
}

// request GETs the RequireLogin page on replica i%2 with the session
// cookie token: 200 logged in, 303 not.
func (env *soakEnv) request(ctx context.Context, token string, i int) (int, error) {
	resp := env.serve(i, env.newRequest(ctx, http.MethodGet, "/private", token, nil))
	if resp.StatusCode == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		return resp.StatusCode, fmt.Errorf("GET /private redirected to %q", resp.Header.Get("Location"))
	}
	return resp.StatusCode, nil
}

// backChannel posts a logout token with claims to replica i%2.
func (env *soakEnv) backChannel(ctx context.Context, claims map[string]any, i int) error {
	form := url.Values{"logout_token": {env.op.SignLogoutToken(claims)}}
	resp := env.serve(i, env.newRequest(ctx, http.MethodPost, "/backchannel-logout", "", form))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("back-channel logout %v: status %d", claims, resp.StatusCode)
	}
	return nil
}

// act applies a session's logout fate.
func (env *soakEnv) act(ctx context.Context, s *soakSession, i int) error {
	switch s.fate {
	case bySID:
		return env.backChannel(ctx, env.op.LogoutClaims("app", user(s.user), s.sid), i)
	case signOut:
		resp := env.serve(i+1, env.newRequest(ctx, http.MethodPost, "/logout", s.token, url.Values{}))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, env.op.Issuer()+testop.PathEndSession) {
			return fmt.Errorf("sign-out of session %d: %d %q, want 303 to the OP", i, resp.StatusCode, loc)
		}
	}
	return nil
}

// loginAndAct logs s's user in through the proxy (login, OP authorize,
// callback), checks the new session with a request, then applies its fate.
func (env *soakEnv) loginAndAct(ctx context.Context, s *soakSession, i int) error {
	// The login starts on one replica and comes back to the other.
	resp := env.serve(i, env.newRequest(ctx, http.MethodGet, "/login?return_to=/private", "", nil))
	auth := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(auth, env.op.Issuer()) {
		return fmt.Errorf("login %d: %d %q", i, resp.StatusCode, auth)
	}
	loginCookies := resp.Cookies()

	// The OP's authorize endpoint, in process, for a browser without an
	// OP session: it logs in the user SetUser named.
	w := httptest.NewRecorder()
	env.opMu.Lock()
	env.op.SetUser(user(s.user))
	env.op.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, auth, nil))
	env.opMu.Unlock()
	callback := w.Result().Header.Get("Location")
	if !strings.HasPrefix(callback, env.public+"/callback?") {
		return fmt.Errorf("login %d: the OP answered %d %q", i, w.Code, callback)
	}

	req := navigate(httptest.NewRequestWithContext(ctx, http.MethodGet, callback, nil))
	for _, c := range loginCookies {
		req.AddCookie(c)
	}
	resp = env.serve(i+1, req)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private" {
		return fmt.Errorf("login %d callback: %d %q", i, resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "slo" {
			s.token = c.Value
		}
	}
	sess, err := env.store.Get(ctx, middleware.SessionID(s.token))
	if err != nil {
		return fmt.Errorf("session of login %d: %w", i, err)
	}
	if sess.Subject != user(s.user) || sess.SID == "" {
		return fmt.Errorf("login %d: session of %q sid %q, want %q", i, sess.Subject, sess.SID, user(s.user))
	}
	s.sid = sess.SID
	if code, err := env.request(ctx, s.token, i); err != nil || code != http.StatusOK {
		return fmt.Errorf("request after login %d: %d %v", i, code, err)
	}
	return env.act(ctx, s, i)
}
