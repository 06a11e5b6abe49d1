package sessionmgmt_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/e2etest"
	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// The OP and the app share the site 127.0.0.1 (ports differ), because
// testop's cookies are SameSite=Lax and its check_session_iframe must read
// them inside the app's page. The hostile page is another site.
const (
	hostSite    = "127.0.0.1"
	hostHostile = "127.0.0.3"
)

// interval is the session check's polling interval in these tests.
const interval = 300 * time.Millisecond

// app is a relying party built with slo's middleware whose pages include
// the session check. It counts the prompt=none re-checks it is asked for.
type app struct {
	base   string
	store  *e2etest.RecordingStore
	events chan logout.Event

	mu       sync.Mutex
	rechecks []time.Time // when GET /session-check/recheck arrived
	hostile  string      // a page framed by the app's page, if set
}

func (a *app) recheckTimes() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.rechecks...)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>app</title></head><body>
{{if .Sub}}<p id="signed-in">Signed in as {{.Sub}}</p>{{else}}<p id="signed-out">Not signed in.</p>{{end}}
{{.SessionCheck}}
{{with .Hostile}}<iframe id="hostile" src="{{.}}"></iframe>{{end}}
</body></html>
`))

type setup struct {
	op  *testop.OP
	app *app
}

// options vary the setup; the zero value puts the OP and the app on
// hostSite with testop's SameSite=Lax cookies and the app's cookies not
// Secure.
type options struct {
	opHost, appHost string
	// crossSite gives the OP SameSite=None; Secure cookies, which its
	// iframe needs inside another site's page.
	crossSite bool
	// secure makes the app's cookies Secure (and its re-check login
	// cookie SameSite=None).
	secure bool
}

// start runs testop and one app on hostSite.
func start(t *testing.T) setup { return startWith(t, options{}) }

func startWith(t *testing.T, o options) setup {
	t.Helper()
	opHost, appHost := cmp.Or(o.opHost, hostSite), cmp.Or(o.appHost, hostSite)
	opLn := e2etest.Listen(t, opHost)
	opCfg := testop.Config{Logger: e2etest.Logger(t).With("app", "op")}
	if o.crossSite {
		opCfg.CookieSameSite, opCfg.CookieSecure = http.SameSiteNoneMode, true
	}
	opCfg.Issuer = "http://" + net.JoinHostPort(opHost, strconv.Itoa(opLn.Addr().(*net.TCPAddr).Port))
	op, err := testop.New(opCfg)
	if err != nil {
		t.Fatal(err)
	}
	e2etest.Serve(t, opLn, op)

	ln := e2etest.Listen(t, appHost)
	base := "http://" + net.JoinHostPort(appHost, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	// No back- or front-channel logout: only the session check can notice
	// a logout at the OP.
	if err := op.AddClient(testop.Client{
		ID: "app", Secret: "app-secret",
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/logged-out"},
	}); err != nil {
		t.Fatal(err)
	}
	logger := e2etest.Logger(t).With("app", "app")
	client, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
		RedirectURL: base + "/callback", PostLogoutRedirectURL: base + "/logged-out",
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	if client.Metadata().CheckSessionIframe == "" {
		t.Fatal("testop advertises no check_session_iframe")
	}
	a := &app{
		base:   base,
		store:  e2etest.NewRecordingStore(),
		events: make(chan logout.Event, 64),
	}
	m, err := middleware.New(middleware.Config{
		Client:               client,
		Store:                a.store,
		SessionCheckInterval: interval,
		Secure:               &o.secure,
		OnLogout: func(_ context.Context, e logout.Event) {
			select {
			case a.events <- e:
			default:
				t.Errorf("event channel full, dropped %+v", e)
			}
		},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	m.Register(mux)
	page := m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Sub          string
			SessionCheck template.HTML
			Hostile      string
		}{}
		if r.URL.Path == "/" { // the app's page, with the session check; /plain has none
			data.SessionCheck = m.SessionCheckSnippet(r.Context())
		}
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			data.Sub = s.Subject
		}
		a.mu.Lock()
		data.Hostile = a.hostile
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = pageTmpl.Execute(w, data)
	}))
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /plain", page)
	e2etest.Serve(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/session-check/recheck" {
			a.mu.Lock()
			a.rechecks = append(a.rechecks, time.Now())
			a.mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	}))
	return setup{op: op, app: a}
}

// checkIgnored is a JS expression for how many messages the RP iframe
// ignored.
const checkIgnored = `(() => {
	const f = document.getElementById("slo-session-check");
	const d = f && f.contentDocument;
	return Number((d && d.documentElement && d.documentElement.dataset.ignored) || 0);
})()`

func login(ctx context.Context, t *testing.T, a *app) *sessionstore.Session {
	t.Helper()
	browser.Do(ctx, t, "log in", chromedp.Navigate(a.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	select {
	case s := <-a.store.Created:
		return s
	case <-ctx.Done():
		t.Fatalf("no session created: %v", ctx.Err())
		return nil
	}
}

// event waits for the app's next logout event.
func event(ctx context.Context, t *testing.T, a *app) logout.Event {
	t.Helper()
	select {
	case e := <-a.events:
		return e
	case <-ctx.Done():
		t.Fatalf("no logout event: %v", ctx.Err())
		return logout.Event{}
	}
}

// TestLogoutAtOPIsNoticed: the page's session check reports "unchanged";
// after the user logs out at the OP, within about one polling interval it
// sees "changed", the prompt=none re-check gets login_required, the local
// session ends and the page reloads signed out.
func TestLogoutAtOPIsNoticed(t *testing.T) {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	defer cancel()
	env := start(t)
	a := env.app

	s := login(ctx, t, a)
	if s.Data.SessionState == "" {
		t.Fatal("no session_state stored at login")
	}
	browser.WaitCheckState(ctx, t, "unchanged")
	if n := len(a.recheckTimes()); n != 0 {
		t.Fatalf("%d re-checks while nothing changed", n)
	}

	loggedOut := time.Now()
	env.op.EndSession(ctx, "alice") // the user logged out at the OP elsewhere
	e := event(ctx, t, a)
	want := logout.Event{Channel: logout.ChannelSessionManagement, Issuer: env.op.Issuer(), SID: s.SID, Subject: "alice", Ended: 1}
	if e != want {
		t.Errorf("event %+v, want %+v", e, want)
	}
	if _, err := a.store.Get(ctx, s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Errorf("session still in the store: %v", err)
	}
	rechecks := a.recheckTimes()
	if len(rechecks) != 1 {
		t.Fatalf("%d re-checks, want 1", len(rechecks))
	}
	// One interval to the next poll, plus the OP iframe's fetch and the
	// redirects; the bound is generous for loaded machines.
	if d := rechecks[0].Sub(loggedOut); d > interval+3*time.Second {
		t.Errorf("re-check %v after the logout at the OP, want about one interval (%v)", d, interval)
	}
	browser.WaitTruthy(ctx, t, "the page to reload signed out", `document.getElementById("signed-out") !== null`)
	if n := len(a.recheckTimes()); n != 1 {
		t.Errorf("%d re-checks, want 1", n)
	}
}

// TestForeignMessagesAreIgnored: messages from another site, and from the
// app's own page (the right origin for nothing but the re-check frame,
// which does not exist), change nothing.
func TestForeignMessagesAreIgnored(t *testing.T) {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	defer cancel()
	env := start(t)
	a := env.app

	ln := e2etest.Listen(t, hostHostile)
	e2etest.Serve(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// parent.frames[0] is the RP iframe (the snippet comes first).
		fmt.Fprint(w, `<!doctype html><title>hostile</title><script>
setInterval(function () {
  var rp = parent.frames[0];
  ["changed", "error", "signed-out", "refreshed x", "slo:signed-out"].forEach(function (m) { rp.postMessage(m, "*"); });
  parent.postMessage("slo:signed-out", "*");
}, 50);
</script>`)
	}))
	a.mu.Lock()
	a.hostile = "http://" + ln.Addr().String() + "/"
	a.mu.Unlock()

	s := login(ctx, t, a)
	browser.WaitCheckState(ctx, t, "unchanged")
	// The app page itself posts too: right origin for the re-check frame,
	// but not its source; not the OP's origin.
	browser.Do(ctx, t, "post from the app page", chromedp.Evaluate[chromedp.Void](`(() => {
		const w = document.getElementById("slo-session-check").contentWindow;
		for (const m of ["changed", "error", "signed-out", "refreshed abc"]) w.postMessage(m, "*");
		w.postMessage({data: "changed"}, "*");
	})()`))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](checkIgnored+` >= 30`, browser.FastPoll)); err != nil {
		t.Fatalf("the RP iframe did not see the hostile messages: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](browser.CheckState))
	if err != nil {
		t.Fatal(err)
	}
	if state != "unchanged" && state != "polling" {
		t.Errorf("state after foreign messages %q, want unchanged", state)
	}
	if n := len(a.recheckTimes()); n != 0 {
		t.Errorf("%d re-checks after foreign messages, want 0", n)
	}
	if _, err := a.store.Get(ctx, s.ID); err != nil {
		t.Errorf("session after foreign messages: %v", err)
	}
	signedOut, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.sloSession || ""`))
	if err != nil || signedOut != "" {
		t.Errorf("app page data-slo-session %q (%v), want unset", signedOut, err)
	}
	// And the check still works.
	browser.WaitCheckState(ctx, t, "unchanged")
}

// TestErrorAnswerCausesNoRecheck: a session_state the OP iframe cannot
// parse makes it answer "error"; the page stops polling and never sends
// prompt=none.
func TestErrorAnswerCausesNoRecheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	defer cancel()
	env := start(t)
	a := env.app

	s := login(ctx, t, a)
	browser.WaitCheckState(ctx, t, "unchanged")
	cur, err := a.store.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Data.SessionState = "corrupt" // no ".salt": testop's iframe answers "error"
	if err := a.store.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	browser.Do(ctx, t, "reload", chromedp.Navigate(a.base+"/"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	browser.WaitCheckState(ctx, t, "error")
	if n := len(a.recheckTimes()); n != 0 {
		t.Errorf("%d prompt=none re-checks after \"error\", want 0", n)
	}
	if _, err := a.store.Get(ctx, s.ID); err != nil {
		t.Errorf("session after \"error\": %v", err)
	}
}

// TestSameUserRecheck: a stale session_state makes the OP iframe answer
// "changed"; the re-check finds the same user, updates session_state and
// polling resumes with "unchanged". A second "changed" within a minute is
// not re-checked (rate limit).
func TestSameUserRecheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	defer cancel()
	env := start(t)
	a := env.app

	s := login(ctx, t, a)
	stale := func() {
		t.Helper()
		cur, err := a.store.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur.Data.SessionState = "0000.beef" // well-formed, wrong
		if err := a.store.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	stale()
	browser.Do(ctx, t, "reload", chromedp.Navigate(a.base+"/"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	browser.WaitCheckState(ctx, t, "unchanged")
	if n := len(a.recheckTimes()); n != 1 {
		t.Fatalf("%d re-checks, want 1", n)
	}
	cur, err := a.store.Get(ctx, s.ID)
	if err != nil {
		t.Fatalf("session after a same-user re-check: %v", err)
	}
	if cur.Data.SessionState == "0000.beef" || cur.Data.SessionState == "" {
		t.Errorf("session_state not updated: %q", cur.Data.SessionState)
	}
	select {
	case e := <-a.events:
		t.Errorf("logout event %+v after a same-user re-check", e)
	default:
	}

	stale()
	browser.Do(ctx, t, "reload", chromedp.Navigate(a.base+"/"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	browser.WaitCheckState(ctx, t, "throttled")
	if n := len(a.recheckTimes()); n != 1 {
		t.Errorf("%d re-checks, want still 1 (rate limit)", n)
	}
}

// TestCrossSiteOP: the OP on another site (localhost; the app is on
// 127.0.0.1), with SameSite=None; Secure cookies so that its iframe could
// read them in the app's page if the browser allowed third-party cookies.
// Chromium 156 does not: the OP iframe answers "changed" at once and
// prompt=none in the re-check iframe gets login_required. That answer came
// back cross-site, so the middleware does not trust it and the app's page
// repeats the re-check at top level, which finds the same user: the
// session survives and the check is rate-limited. A real logout at the OP
// is still noticed, through the same top-level re-check.
func TestCrossSiteOP(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("secure=%v", secure), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
			defer cancel()
			env := startWith(t, options{opHost: "localhost", crossSite: true, secure: secure})
			a := env.app

			s := login(ctx, t, a)
			st := browser.WaitTruthy(ctx, t, "the check to settle", `(() => { const s = `+browser.CheckState+`; return (s === "unchanged" || s === "throttled") && s; })()`)
			if st == "unchanged" {
				t.Log("this browser lets the OP iframe read its third-party cookies")
				if n := len(a.recheckTimes()); n != 0 {
					t.Errorf("%d re-checks, want 0", n)
				}
			} else {
				// iframe re-check → "confirm" → top-level re-check → same user.
				if n := len(a.recheckTimes()); n != 2 {
					t.Errorf("%d re-checks, want 2 (iframe, then top level)", n)
				}
			}
			if _, err := a.store.Get(ctx, s.ID); err != nil {
				t.Fatalf("session ended by a false \"changed\": %v", err)
			}
			select {
			case e := <-a.events:
				t.Fatalf("logout event %+v", e)
			default:
			}

			// A real logout at the OP, noticed by the app's page in a new tab
			// (the rate limit is per tab).
			browser.Do(ctx, t, "leave the checked page", chromedp.Navigate(a.base+"/plain"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
			env.op.EndSession(ctx, "alice")
			ctx, cancelTab := chromedp.NewContext(ctx)
			defer cancelTab()
			browser.Do(ctx, t, "open the checked page in a new tab", chromedp.Navigate(a.base+"/"))
			e := event(ctx, t, a)
			if e.Channel != logout.ChannelSessionManagement || e.Ended != 1 || e.Subject != "alice" {
				t.Errorf("event %+v, want one session-management logout of alice", e)
			}
			if _, err := a.store.Get(ctx, s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
				t.Errorf("session still there: %v", err)
			}
			browser.WaitTruthy(ctx, t, "the page to show signed out", `document.getElementById("signed-out") !== null`)
		})
	}
}

// TestCircuitBreaker: after three re-checks in a row that found the same
// user although the OP said "changed" (as when third-party cookies are
// blocked), the tab stops checking that session and tells the app's page.
// The three earlier re-checks are seeded into the tab's sessionStorage,
// where the RP iframe keeps its rate limit.
func TestCircuitBreaker(t *testing.T) {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	defer cancel()
	env := start(t)
	a := env.app

	s := login(ctx, t, a)
	key, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("slo-session-check").contentDocument.documentElement.dataset.key`))
	if err != nil || key == "" {
		t.Fatalf("session check key %q: %v", key, err)
	}
	browser.Do(ctx, t, "seed three same-user re-checks",
		chromedp.Navigate(a.base+"/plain"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("slo-session-check:" + `+strconv.Quote(key)+`, JSON.stringify({last: 0, same: 3}))`),
		chromedp.Navigate(a.base+"/"),
	)
	browser.WaitCheckState(ctx, t, "stopped")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.dataset.sloSession === "unchecked"`, browser.FastPoll)); err != nil {
		t.Errorf("the app's page was not told: %v", err)
	}
	if n := len(a.recheckTimes()); n != 0 {
		t.Errorf("%d re-checks, want 0", n)
	}
	if _, err := a.store.Get(ctx, s.ID); err != nil {
		t.Errorf("session after the breaker: %v", err)
	}
}
