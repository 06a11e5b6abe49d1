package interop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/hydraop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// hydraApp is one slo application under test against Hydra: an httptest
// server on 127.0.0.1 that records every request it answers, and whose
// handler (newSLO) is set once Hydra runs.
type hydraApp struct {
	name    string
	spec    hydraAppSpec
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]

	client *rp.Client
	store  *memstore.Store

	mu     sync.Mutex
	events []logout.Event
	calls  []appCall

	backChannelAnswered chan struct{} // closed after the first back-channel call
	answerOnce          sync.Once
}

// hydraAppSpec is how an app is registered at Hydra and configured.
type hydraAppSpec struct {
	name string
	// noFrontChannel and noBackChannel leave that channel's URI out of the
	// registration at Hydra (slo's registration JSON has both).
	noFrontChannel, noBackChannel bool
	// strict leaves slo's defaults alone: no Verifier.AllowMissingExp.
	strict bool
	// frontAfterBack holds front-channel requests until the app has
	// answered a back-channel call, so that the back channel is the one
	// that ends the session (Hydra starts both at once).
	frontAfterBack bool
}

// appCall is one request an app answered.
type appCall struct {
	Method, Path string
	Query        url.Values
	// FetchDest is the browser's Sec-Fetch-Dest ("iframe" for a
	// front-channel logout framed by Hydra's page).
	FetchDest string
	// Cookie is the app's session cookie the request carried, if any.
	Cookie string
	// LogoutToken is the logout_token of a back-channel POST.
	LogoutToken string
	Status      int
	Location    string
}

func newHydraApp(t *testing.T, spec hydraAppSpec) *hydraApp {
	t.Helper()
	a := &hydraApp{name: spec.name, spec: spec, backChannelAnswered: make(chan struct{})}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *hydraApp) url(path string) string { return a.srv.URL + path }
func (a *hydraApp) secret() string         { return a.name + "-secret" }
func (a *hydraApp) cookieName() string     { return "slo_" + a.name }

// serve records the request and its answer around the app's handler.
func (a *hydraApp) serve(w http.ResponseWriter, r *http.Request) {
	h := a.handler.Load()
	if h == nil {
		http.Error(w, "app not ready", http.StatusServiceUnavailable)
		return
	}
	c := appCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), FetchDest: r.Header.Get("Sec-Fetch-Dest")}
	if ck, err := r.Cookie(a.cookieName()); err == nil {
		c.Cookie = ck.Value
	}
	if r.Method == http.MethodPost && r.URL.Path == "/backchannel-logout" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err == nil {
			if form, err := url.ParseQuery(string(body)); err == nil {
				c.LogoutToken = form.Get("logout_token")
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		defer a.answerOnce.Do(func() { close(a.backChannelAnswered) })
	}
	if a.spec.frontAfterBack && r.URL.Path == "/frontchannel-logout" {
		select {
		case <-a.backChannelAnswered:
		case <-r.Context().Done(): // Hydra's page gave up on the iframe
			return
		}
	}
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	(*h).ServeHTTP(rec, r)
	c.Status, c.Location = rec.status, rec.Header().Get("Location")
	a.mu.Lock()
	a.calls = append(a.calls, c)
	a.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// callsTo returns the app's calls of method and path, oldest first.
func (a *hydraApp) callsTo(method, path string) []appCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []appCall
	for _, c := range a.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// logoutEvents returns the app's logout events of channel ch.
func (a *hydraApp) logoutEvents(ch logout.Channel) []logout.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return onChannel(a.events, ch)
}

// startHydra starts Hydra and the apps of specs, and registers each app
// at Hydra from the registration JSON it serves at
// /.well-known/oidc-client, less the channels its spec leaves out.
func startHydra(t *testing.T, specs ...hydraAppSpec) (*hydraop.Server, []*hydraApp) {
	t.Helper()
	apps := make([]*hydraApp, len(specs))
	for i, spec := range specs {
		apps[i] = newHydraApp(t, spec)
	}
	op := hydraop.Start(t, hydraop.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for _, a := range apps {
		h := newSLO(t, a, op.Issuer(), sloSettings{allowMissingExp: !a.spec.strict})
		a.handler.Store(&h)
		reg, err := hydraop.FetchRegistration(ctx, a.url("/.well-known/oidc-client"))
		if err != nil {
			t.Fatal(err)
		}
		if reg.ID != a.name || reg.FrontChannelLogoutURI != a.url("/frontchannel-logout") || reg.BackChannelLogoutURI != a.url("/backchannel-logout") ||
			!reg.FrontChannelLogoutSessionRequired || !reg.BackChannelLogoutSessionRequired {
			t.Fatalf("%s: registration JSON %+v", a.name, reg)
		}
		reg.Secret = a.secret()
		reg.Scope = "openid"
		if a.spec.noFrontChannel {
			reg.FrontChannelLogoutURI, reg.FrontChannelLogoutSessionRequired = "", false
		}
		if a.spec.noBackChannel {
			reg.BackChannelLogoutURI, reg.BackChannelLogoutSessionRequired = "", false
		}
		if err := op.Register(ctx, reg); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ev := range op.Events() {
			if ev.Name == "error" {
				t.Errorf("Hydra error: %s", ev.Error)
			}
		}
	})
	return op, apps
}

// waitHydra waits for the Hydra event match.
func waitHydra(t *testing.T, op *hydraop.Server, what string, match func(hydraop.Event) bool) hydraop.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	ev, err := op.WaitEvent(ctx, match)
	if err != nil {
		t.Fatalf("Hydra event %s: %v", what, err)
	}
	return ev
}

// backChannelDone waits for Hydra's log of its back-channel call to a.
func backChannelDone(t *testing.T, op *hydraop.Server, a *hydraApp) hydraop.Event {
	t.Helper()
	return waitHydra(t, op, "back-channel call to "+a.name, func(ev hydraop.Event) bool {
		return strings.HasPrefix(ev.Name, "backchannel.") && ev.ClientID == a.name
	})
}

// hydraSession is what a signed-in /private page shows.
type hydraSession struct {
	ID, SID string
	// Cookie is the session cookie value the browser sent for the page.
	Cookie string
}

// browserLogin signs the browser tab ctx in to a through Hydra and returns
// the session of its /private page.
func browserLogin(ctx context.Context, t *testing.T, a *hydraApp) hydraSession {
	t.Helper()
	browser.Do(ctx, t, "log in to "+a.name,
		chromedp.Navigate(a.url("/login?return_to=/private")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in")),
	)
	return pageSession(ctx, t, a)
}

// pageSession reads the session of a's /private page in the tab ctx.
func pageSession(ctx context.Context, t *testing.T, a *hydraApp) hydraSession {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, a.url("/private")) {
		t.Fatalf("%s: at %s (%v), want its /private page", a.name, loc, err)
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => { const p = document.getElementById("signed-in"); return [p.dataset.session, p.dataset.sid]; })()`))
	if err != nil || len(v) != 2 || v[0] == "" || v[1] == "" {
		t.Fatalf("%s: /private shows session %q (%v), want an id and a sid", a.name, v, err)
	}
	s := hydraSession{ID: v[0], SID: v[1]}
	calls := a.callsTo(http.MethodGet, "/private")
	if n := len(calls); n > 0 && calls[n-1].Status == http.StatusOK {
		s.Cookie = calls[n-1].Cookie
	}
	if s.Cookie == "" || storeID(s.Cookie) != s.ID {
		t.Fatalf("%s: the /private page was not served for the session cookie of %s", a.name, s.ID)
	}
	return s
}

// signOut presses the sign-out button of a's /private page in the tab ctx
// and waits for the return from Hydra on /after.
func signOut(ctx context.Context, t *testing.T, a *hydraApp) {
	t.Helper()
	browser.Do(ctx, t, "sign out of "+a.name,
		chromedp.Navigate(a.url("/private")),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")),
		chromedp.Click(chromedp.CSS("#sign-out")),
	)
	browser.WaitTruthy(ctx, t, "the return to "+a.name+"'s /after",
		`location.href === `+jsString(a.url("/after"))+` && document.getElementById("after") !== null`)
}

// logoutAtHydra opens Hydra's end-session endpoint without parameters in
// the tab ctx (the OP's own logout) and waits for Hydra's signed-out page.
func logoutAtHydra(ctx context.Context, t *testing.T, op *hydraop.Server, endSession string) {
	t.Helper()
	browser.Do(ctx, t, "logout at Hydra", chromedp.Navigate(endSession))
	browser.WaitTruthy(ctx, t, "Hydra's signed-out page",
		`location.href === `+jsString(op.UIURL()+hydraop.SignedOutPath)+` && document.getElementById("signed-out") !== null`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// requireLoginRedirect checks that a answers a browser's navigation to
// /private with the cookie of an ended session by redirecting to its
// login, and that the session is gone from its store.
func requireLoginRedirect(t *testing.T, a *hydraApp, s hydraSession) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.url("/private"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: a.cookieName(), Value: s.Cookie})
	// A top-level navigation, as chromium sends it (apps may answer
	// scripts without a redirect).
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-Fetch-Site", "none")
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != "/login?return_to=%2Fprivate" {
		t.Errorf("%s: /private with the ended session's cookie: %d to %q, want a redirect to /login?return_to=%%2Fprivate", a.name, resp.StatusCode, loc)
	}
	if _, err := a.store.Get(t.Context(), s.ID); err == nil {
		t.Errorf("%s: session %s still in the store", a.name, s.ID)
	}
}

// checkFrontChannel checks that Hydra's logout page framed a's
// front-channel URI once, with its issuer and sid, and that slo accepted it.
func checkFrontChannel(t *testing.T, op *hydraop.Server, a *hydraApp, sid string) {
	t.Helper()
	calls := a.callsTo(http.MethodGet, "/frontchannel-logout")
	if len(calls) != 1 {
		t.Fatalf("%s: %d front-channel requests, want 1", a.name, len(calls))
	}
	c := calls[0]
	if c.FetchDest != "iframe" || c.Query.Get("iss") != op.Issuer() || c.Query.Get("sid") != sid || len(c.Query) != 2 || c.Status != http.StatusOK {
		t.Errorf("%s: front-channel request %+v, want an iframe with iss %s and sid %s, answered 200", a.name, c, op.Issuer(), sid)
	}
	if evs := a.logoutEvents(logout.ChannelFrontChannel); len(evs) != 1 || evs[0].Err != nil || evs[0].SID != sid || evs[0].Issuer != op.Issuer() {
		t.Errorf("%s: front-channel events %+v", a.name, evs)
	}
}

// checkBackChannel checks that Hydra POSTed one logout token for sid to
// a's back-channel URI, that slo accepted it (200), and that Hydra logged
// the call as a success.
func checkBackChannel(t *testing.T, op *hydraop.Server, a *hydraApp, sid string) {
	t.Helper()
	if ev := backChannelDone(t, op, a); ev.Name != "backchannel.success" || ev.URL != a.url("/backchannel-logout") {
		t.Errorf("%s: Hydra logged %+v, want backchannel.success", a.name, ev)
	}
	calls := a.callsTo(http.MethodPost, "/backchannel-logout")
	if len(calls) != 1 || calls[0].Status != http.StatusOK {
		t.Fatalf("%s: back-channel requests %+v, want one answered 200", a.name, calls)
	}
	_, claims := decodeToken(t, calls[0].LogoutToken)
	if claims["sid"] != sid || claims["iss"] != op.Issuer() {
		t.Errorf("%s: logout token claims %v, want sid %s", a.name, claims, sid)
	}
	if evs := a.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Err != nil || evs[0].SID != sid {
		t.Errorf("%s: back-channel events %+v", a.name, evs)
	}
}

// ended returns how many sessions a's logout events of channels ended.
func (a *hydraApp) ended(channels ...logout.Channel) int {
	n := 0
	for _, ch := range channels {
		for _, ev := range a.logoutEvents(ch) {
			n += ev.Ended
		}
	}
	return n
}

// decodeToken returns the header and claims of a compact JWS without
// verifying it.
func decodeToken(t *testing.T, jws string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}
