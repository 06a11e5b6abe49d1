package frontchannel_test

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
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

// The hosts: the OP, app A, app B and a hostile site are four different
// sites, so the apps' SameSite=Lax cookies are not sent into the OP's
// iframes and the hostile page's frames are cross-site too.
const (
	hostOP      = "localhost"
	hostA       = "127.0.0.1"
	hostB       = "127.0.0.2"
	hostHostile = "127.0.0.3"
)

// app is one relying party built with slo's middleware.
type app struct {
	name   string
	base   string
	store  *e2etest.RecordingStore
	events chan logout.Event

	mu        sync.Mutex
	paths     []string // request paths, in order
	fcCookies []bool   // whether each front-channel request carried the session cookie
}

func (a *app) frontChannelCookies() []bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.fcCookies)
}

func (a *app) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.paths)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.App}}</title></head><body>
<h1>{{.App}}</h1>
{{if .Sub}}<p id="signed-in">Signed in as {{.Sub}}</p>
<form method="post" action="/logout"><button id="sign-out" type="submit">Sign out</button></form>
{{else}}<p id="signed-out">Not signed in.</p><p><a id="sign-in" href="/login">Sign in</a></p>{{end}}
</body></html>
`))

// startApp starts an app on host, registered at op for front-channel
// logout with iss and sid and without back-channel logout, so only the
// front channel can end its sessions from elsewhere.
//
// cookieLogout is the app's FrontChannel.AllowCookieLogout. App B turns it on,
// the permissive mode, so the test shows that even then a hostile page
// cannot end B's session by framing the URI without iss and sid: the
// browser does not send B's SameSite=Lax cookie into a cross-site iframe.
func startApp(t *testing.T, op *testop.OP, host, name string, cookieLogout bool) *app {
	t.Helper()
	ln := e2etest.Listen(t, host)
	base := "http://" + ln.Addr().String()
	if err := op.AddClient(testop.Client{
		ID: name, Secret: name + "-secret",
		RedirectURIs:                      []string{base + "/callback"},
		PostLogoutRedirectURIs:            []string{base + "/logged-out"},
		FrontChannelLogoutURIs:            []string{base + "/frontchannel-logout"},
		FrontChannelLogoutSessionRequired: true,
	}); err != nil {
		t.Fatal(err)
	}
	logger := e2etest.Logger(t).With("app", name)
	client, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: name, ClientSecret: name + "-secret",
		RedirectURL: base + "/callback", PostLogoutRedirectURL: base + "/logged-out",
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{
		name:   name,
		base:   base,
		store:  e2etest.NewRecordingStore(),
		events: make(chan logout.Event, 64),
	}
	m, err := middleware.New(middleware.Config{
		Client: client,
		Store:  a.store,
		OnLogout: func(_ context.Context, e logout.Event) {
			select {
			case a.events <- e:
			default:
				t.Errorf("%s: event channel full, dropped %+v", name, e)
			}
		},
		Logger:       logger,
		FrontChannel: logout.FrontChannelConfig{AllowCookieLogout: cookieLogout},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	m.Register(mux)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := struct{ App, Sub string }{App: name}
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			data.Sub = s.Subject
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = pageTmpl.Execute(w, data)
	})
	mux.Handle("GET /{$}", m.LoadSession(page))
	mux.Handle("GET /private", m.RequireLogin(page))
	e2etest.Serve(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.paths = append(a.paths, r.URL.Path)
		if r.URL.Path == "/frontchannel-logout" {
			_, err := r.Cookie("slo")
			a.fcCookies = append(a.fcCookies, err == nil)
		}
		a.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	return a
}

// created waits for the app's next new session.
func (a *app) created(ctx context.Context, t *testing.T) *sessionstore.Session {
	t.Helper()
	select {
	case s := <-a.store.Created:
		return s
	case <-ctx.Done():
		t.Fatalf("%s: no session created: %v", a.name, ctx.Err())
		return nil
	}
}

// frontChannelEvents waits for n front-channel events of the app, skipping
// events of other channels.
func (a *app) frontChannelEvents(ctx context.Context, t *testing.T, n int) []logout.Event {
	t.Helper()
	var evs []logout.Event
	for len(evs) < n {
		select {
		case e := <-a.events:
			if e.Channel == logout.ChannelFrontChannel {
				evs = append(evs, e)
			}
		case <-ctx.Done():
			t.Fatalf("%s: got %d front-channel events, want %d: %v (%+v)", a.name, len(evs), n, ctx.Err(), evs)
		}
	}
	return evs
}

func (a *app) live(t *testing.T, id string) bool {
	t.Helper()
	_, err := a.store.Get(context.Background(), id)
	return err == nil
}

// login signs the browser in at a through the OP (which logs the browser in
// without asking) and returns the session the app created.
func login(ctx context.Context, t *testing.T, a *app) *sessionstore.Session {
	t.Helper()
	browser.Do(ctx, t, "log in at "+a.name,
		chromedp.Navigate(a.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#signed-in")),
	)
	return a.created(ctx, t)
}

// hostilePage frames frames from another site and serves them.
func hostilePage(t *testing.T, frames []string) string {
	t.Helper()
	ln := e2etest.Listen(t, hostHostile)
	tmpl := template.Must(template.New("hostile").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Totally harmless</title></head><body>
{{range .}}<iframe src="{{.}}"></iframe>
{{end}}</body></html>
`))
	e2etest.Serve(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = tmpl.Execute(w, frames)
	}))
	return "http://" + ln.Addr().String() + "/"
}

func TestFrontChannelLogoutInBrowser(t *testing.T) {
	bctx := browser.New(t)
	ctx, cancel := context.WithTimeout(bctx, 45*time.Second)
	defer cancel()

	opLn := e2etest.Listen(t, hostOP)
	op, err := testop.New(testop.Config{
		Issuer: "http://" + net.JoinHostPort(hostOP, strconv.Itoa(opLn.Addr().(*net.TCPAddr).Port)),
		Logger: e2etest.Logger(t).With("app", "op"),
	})
	if err != nil {
		t.Fatal(err)
	}
	e2etest.Serve(t, opLn, op)
	a := startApp(t, op, hostA, "app-a", false)
	b := startApp(t, op, hostB, "app-b", true)

	// Log in to both apps in one browser: one OP session, one sid. The sid
	// holds the characters that URL encodings disagree on; it must travel
	// unchanged from the ID token to the stores and back through the OP's
	// iframe URLs.
	const sid = `s p&a=c#e%2B+"q'<x>;`
	op.SetNextSID(sid)
	sa := login(ctx, t, a)
	sb := login(ctx, t, b)
	if sa.SID != sid || sb.SID != sid {
		t.Fatalf("sids at A %q and B %q, want %q: one OP session", sa.SID, sb.SID, sid)
	}
	if got := op.SessionSIDs("alice"); !slices.Equal(got, []string{sb.SID}) {
		t.Fatalf("OP sessions %v, want [%s]", got, sb.SID)
	}

	// A hostile page frames B's front-channel URI with a wrong iss, a wrong
	// sid, and without parameters. Nothing may end.
	fc := b.base + "/frontchannel-logout"
	query := func(iss, sid string) string { return fc + "?" + url.Values{"iss": {iss}, "sid": {sid}}.Encode() }
	hostileFrames := []string{
		query("http://"+hostHostile, sb.SID),
		query(op.Issuer()+"/", sb.SID),
		query(op.Issuer(), sb.SID+"x"),
		query(op.Issuer(), "guess"),
		fc,
	}
	browser.Do(ctx, t, "open the hostile page", chromedp.Navigate(hostilePage(t, hostileFrames)))
	for _, e := range b.frontChannelEvents(ctx, t, len(hostileFrames)) {
		if e.Ended != 0 {
			t.Errorf("hostile frame ended %d sessions: %+v", e.Ended, e)
		}
	}
	if !b.live(t, sb.ID) {
		t.Fatal("B's session was ended by a hostile page")
	}
	browser.Do(ctx, t, "B still signed in",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signed-in")),
	)

	// Sign out at A: POST /logout, the OP's end-session page frames A's and
	// B's front-channel URIs, then returns to A.
	browser.Do(ctx, t, "sign out at A",
		chromedp.Navigate(a.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#sign-out")),
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS("#signed-out")),
	)
	evs := b.frontChannelEvents(ctx, t, 1)
	if e := evs[0]; e.Ended != 1 || e.Err != nil || e.SID != sb.SID || e.Issuer != op.Issuer() {
		t.Errorf("B's front-channel event = %+v, want 1 session of sid %q ended", e, sb.SID)
	}
	if got := b.frontChannelCookies(); len(got) != len(hostileFrames)+1 || slices.Contains(got, true) {
		t.Errorf("B's front-channel requests carried its cookie: %v; want %d requests, all cross-site without it",
			got, len(hostileFrames)+1)
	}
	if a.live(t, sa.ID) {
		t.Error("A's session survived the sign-out")
	}
	if b.live(t, sb.ID) {
		t.Fatal("B's session survived the front-channel logout")
	}
	if got := op.SessionSIDs("alice"); len(got) != 0 {
		t.Errorf("OP sessions after logout: %v", got)
	}

	// B's page asks for login again: the public page shows the sign-in
	// link, and the protected page sends the browser to /login (and, as
	// this OP logs in without asking, on to a new OP session).
	browser.Do(ctx, t, "B signed out",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#signed-out")),
	)
	before := len(b.requests())
	browser.Do(ctx, t, "B's protected page",
		chromedp.Navigate(b.base+"/private"),
		chromedp.WaitVisible(chromedp.CSS("#signed-in")),
	)
	if got := b.requests()[before:]; !slices.Equal(got[:min(3, len(got))], []string{"/private", "/login", "/callback"}) {
		t.Errorf("B's requests for its protected page: %v, want /private, /login, /callback first", got)
	}
	if s := b.created(ctx, t); s.SID == sb.SID || s.ID == sb.ID {
		t.Errorf("B's new session reuses the old one: %+v", s)
	}
}
