// Package racetest checks, through the middleware's real handlers, that a
// logout from the OP is never undone by a login that was already under way
// when the logout arrived, and that no login started after a logout is
// refused. It runs against any session store, so that the middleware's rule
// and each store's logout records (sessionstore.Store.RecordLogout) are
// tested together: the core module runs it on memstore, the cluster example
// on Redis and PostgreSQL.
//
// A login is "under way" from GET /login to its callback. Each scenario
// drives the steps by hand (start the login, let the OP authorize it, then
// the logout, then the callback) on clocks that move only when the scenario
// moves them, so the interleavings are exact.
package racetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testlog"
	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// Backend returns the session store and the single-use store for one
// scenario. Stores on a shared server may return handles to the same
// server: every scenario has its own OP, whose issuer (a fresh loopback
// port) scopes its sessions, logout records and single-use values.
type Backend func(t *testing.T) (sessionstore.Store, sessionstore.SingleUse)

// Run runs every scenario, each as a subtest with a backend from newBackend.
func Run(t *testing.T, newBackend Backend) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newBackend) })
	}
}

var scenarios = []struct {
	name string
	run  func(*testing.T, Backend)
}{
	{"BackChannelLogoutDuringLogin", testBackChannelDuringLogin},
	{"SecondLogoutDuringLogin", testSecondLogoutDuringLogin},
	{"SubjectLogoutDuringLogin", testSubjectLogoutDuringLogin},
	{"FrontChannelLogoutDuringLogin", testFrontChannelDuringLogin},
	{"RefusedTokenKeepsLogout", testRefusedTokenKeepsLogout},
	{"LoginMillisecondsAfterLogout", testLoginMillisecondsAfterLogout},
	{"ClockSkew", testClockSkew},
	{"LoginStateFlood", testLoginStateFlood},
}

// clock is a clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one OP and one application with a browser.
type env struct {
	t       *testing.T
	op      *testop.OP
	app     *httptest.Server
	store   sessionstore.Store
	rpClock *clock // the relying party's clock
	opClock *clock // the OP's
	http    *http.Client
}

// newEnv starts an OP whose clock is opOffset ahead of the relying party's.
func newEnv(t *testing.T, newBackend Backend, opOffset time.Duration) *env {
	t.Helper()
	now := time.Now().Truncate(time.Second).Add(300 * time.Millisecond)
	e := &env{t: t, rpClock: &clock{t: now}, opClock: &clock{t: now.Add(opOffset)}}
	var used sessionstore.SingleUse
	e.store, used = newBackend(t)
	op, err := testop.Start(testop.Config{Now: e.opClock.Now, Logger: slog.New(slog.DiscardHandler)}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	e.op = op
	mux := http.NewServeMux()
	e.app = httptest.NewServer(mux)
	t.Cleanup(e.app.Close)
	if err := op.AddClient(testop.Client{
		ID: "app", Secret: "app-secret",
		RedirectURIs:         []string{e.app.URL + "/callback"},
		BackChannelLogoutURI: e.app.URL + "/backchannel-logout",
	}); err != nil {
		t.Fatal(err)
	}
	client, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
		RedirectURL: e.app.URL + "/callback", Now: e.rpClock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		Client: client, Store: e.store, SingleUse: used, Key: []byte("racetest key, 32 bytes or more.."),
		Now: e.rpClock.Now, Logger: testlog.Logger(t, slog.LevelWarn),
	})
	if err != nil {
		t.Fatal(err)
	}
	auth.Register(mux)
	mux.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			io.WriteString(w, "hello "+s.Subject+" "+s.SID)
			return
		}
		io.WriteString(w, "anonymous")
	})))
	jar, _ := cookiejar.New(nil)
	e.http = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// tick lets a little time pass on both clocks, as it does between two
// requests.
func (e *env) tick() {
	e.rpClock.advance(time.Millisecond)
	e.opClock.advance(time.Millisecond)
}

// get fetches target (absolute, or a path of the app) without following
// redirects.
func (e *env) get(target string) (*http.Response, string) {
	e.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = e.app.URL + target
	}
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// startLogin starts a login at the app and lets the OP authorize it; it
// returns the callback URL, which the browser has not loaded yet.
func (e *env) startLogin() string {
	e.t.Helper()
	resp, _ := e.get("/login")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("GET /login = %d", resp.StatusCode)
	}
	e.tick()
	resp, _ = e.get(resp.Header.Get("Location"))
	cb := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(cb, e.app.URL+"/callback?") {
		e.t.Fatalf("OP authorization = %d %q", resp.StatusCode, cb)
	}
	e.tick()
	return cb
}

// finishLogin loads the callback and reports whether it created a session
// (a redirect to the landing page with the user signed in) or showed the
// signed-out page.
func (e *env) finishLogin(cb string) bool {
	e.t.Helper()
	resp, body := e.get(cb)
	switch {
	case resp.StatusCode == http.StatusSeeOther:
		if _, body := e.get("/"); !strings.HasPrefix(body, "hello ") {
			e.t.Fatalf("after a successful callback the app shows %q", body)
		}
		return true
	case resp.StatusCode == http.StatusOK && strings.Contains(body, "signed out"):
		if _, body := e.get("/"); body != "anonymous" {
			e.t.Fatalf("after a refused callback the app shows %q", body)
		}
		return false
	}
	e.t.Fatalf("callback = %d %q", resp.StatusCode, body)
	return false
}

// login runs a whole login and returns the OP session's sid.
func (e *env) login() string {
	e.t.Helper()
	if !e.finishLogin(e.startLogin()) {
		e.t.Fatal("login refused")
	}
	e.tick()
	_, body := e.get("/")
	return strings.TrimPrefix(body, "hello alice ")
}

// backChannel POSTs a logout token for (sub, sid) and returns the status.
func (e *env) backChannel(sub, sid string) int {
	e.t.Helper()
	tok := e.op.SignLogoutToken(e.op.LogoutClaims("app", sub, sid))
	resp, err := http.PostForm(e.app.URL+"/backchannel-logout", url.Values{"logout_token": {tok}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	e.tick()
	return resp.StatusCode
}

// frontChannel loads the front-channel URI for sid and returns the status.
func (e *env) frontChannel(sid string) int {
	e.t.Helper()
	resp, _ := e.get("/frontchannel-logout?" + url.Values{"iss": {e.op.Issuer()}, "sid": {sid}}.Encode())
	e.tick()
	return resp.StatusCode
}

// sessions counts the live sessions of (issuer, sid) by ending them: only
// for the end of a scenario.
func (e *env) sessions(sid string) int {
	e.t.Helper()
	ended, err := e.store.DeleteBySID(context.WithoutCancel(e.t.Context()), e.op.Issuer(), sid)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ended)
}

// testBackChannelDuringLogin: the OP session ends (back channel) after the
// login started and before its callback: no session.
func testBackChannelDuringLogin(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	cb := e.startLogin() // the same OP session, so the same sid
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("back-channel logout = %d", code)
	}
	if e.finishLogin(cb) {
		t.Error("a login under way when its OP session ended created a session")
	}
	if n := e.sessions(sid); n != 0 {
		t.Errorf("%d sessions of the ended OP session left", n)
	}
}

// testSecondLogoutDuringLogin: a second logout of the same OP session
// within the login timeout moves the record forward, so a login that
// started between the two logouts is refused.
func testSecondLogoutDuringLogin(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("first back-channel logout = %d", code)
	}
	// A login after the first logout (the OP kept its session, so the
	// same sid) ...
	cb := e.startLogin()
	// ... is under way when the OP ends the session again.
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("second back-channel logout = %d", code)
	}
	if e.finishLogin(cb) {
		t.Error("a login under way at the second logout created a session")
	}
	if n := e.sessions(sid); n != 0 {
		t.Errorf("%d sessions of the ended OP session left", n)
	}
}

// testSubjectLogoutDuringLogin: a logout token with sub only ends every
// session of the user, a login under way included.
func testSubjectLogoutDuringLogin(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	cb := e.startLogin()
	if code := e.backChannel("alice", ""); code != http.StatusOK {
		t.Fatalf("sub-only back-channel logout = %d", code)
	}
	if e.finishLogin(cb) {
		t.Error("a login under way at a logout of its user created a session")
	}
	if n := e.sessions(sid); n != 0 {
		t.Errorf("%d sessions of the user left", n)
	}
}

// testFrontChannelDuringLogin: a front-channel logout during a login is
// remembered like a back-channel one.
func testFrontChannelDuringLogin(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	cb := e.startLogin()
	if code := e.frontChannel(sid); code != http.StatusOK {
		t.Fatalf("front-channel logout = %d", code)
	}
	if e.finishLogin(cb) {
		t.Error("a login under way at a front-channel logout created a session")
	}
}

// testRefusedTokenKeepsLogout: a logout token refused because its sid
// belongs to another user (Back-Channel Logout §2.6 steps 10–11) must not
// take back an earlier, valid logout of the same OP session.
func testRefusedTokenKeepsLogout(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	cb := e.startLogin()
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("back-channel logout = %d", code)
	}
	// Another user's live session under the same sid makes the next token
	// inconsistent: it is refused and ends nothing.
	now := e.rpClock.Now()
	other := &sessionstore.Session{ID: "racetest-" + sid, Issuer: e.op.Issuer(), Subject: "mallory", SID: sid,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.store.Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if code := e.backChannel("alice", sid); code != http.StatusBadRequest {
		t.Fatalf("back-channel logout with a sid of another user = %d, want 400", code)
	}
	if e.finishLogin(cb) {
		t.Error("a refused token took back the logout of the OP session: the login under way created a session")
	}
}

// testLoginMillisecondsAfterLogout: a login that starts a few milliseconds
// after a back-channel logout, in the same OP session (the OP ended only
// this client's sessions) and within the same second of both clocks,
// creates its session.
func testLoginMillisecondsAfterLogout(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("back-channel logout = %d", code)
	}
	e.tick()
	if !e.finishLogin(e.startLogin()) {
		t.Fatal("a login started after the logout was refused")
	}
	if _, body := e.get("/"); body != "hello alice "+sid {
		t.Errorf("app shows %q, want the same OP session %q", body, sid)
	}
}

// testClockSkew: with the OP's clock 5 s ahead of or behind the relying
// party's, a login under way at a logout is refused and a login after it
// stands.
func testClockSkew(t *testing.T, newBackend Backend) {
	for _, off := range []time.Duration{5 * time.Second, -5 * time.Second} {
		t.Run("OP"+off.String(), func(t *testing.T) {
			e := newEnv(t, newBackend, off)
			sid := e.login()
			cb := e.startLogin()
			if code := e.backChannel("alice", sid); code != http.StatusOK {
				t.Fatalf("back-channel logout = %d", code)
			}
			if e.finishLogin(cb) {
				t.Error("a login under way at the logout created a session")
			}
			e.tick()
			if !e.finishLogin(e.startLogin()) {
				t.Error("a login started after the logout was refused")
			}
		})
	}
}

// testLoginStateFlood is B-34: anyone can make the application record login
// states (GET /login, then GET /callback with its state and no code); a
// flood of them, more than a bounded single-use store holds, must not stop
// a valid logout token from being accepted and ending its session.
func testLoginStateFlood(t *testing.T, newBackend Backend) {
	e := newEnv(t, newBackend, 0)
	sid := e.login()
	for range floodSize {
		resp, _ := e.get("/login")
		u, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		// The state comes back without a code: the login fails (400), but
		// its state was used.
		if resp, _ := e.get("/callback?state=" + url.QueryEscape(u.Query().Get("state"))); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("flood callback = %d, want 400", resp.StatusCode)
		}
	}
	if code := e.backChannel("alice", sid); code != http.StatusOK {
		t.Fatalf("back-channel logout after a flood of %d login states = %d, want 200", floodSize, code)
	}
	if n := e.sessions(sid); n != 0 {
		t.Errorf("%d sessions of the ended OP session left", n)
	}
}

// floodSize is how many login states testLoginStateFlood records: more
// than FloodRoom, the room a bounded single-use store for these tests
// should have per namespace.
const floodSize = 300

// FloodRoom is the room per namespace to give a bounded single-use store
// (memstore.SingleUseConfig.MaxPerNamespace) for the flood scenario to
// overflow it.
const FloodRoom = 100
