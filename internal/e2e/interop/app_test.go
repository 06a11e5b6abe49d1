package interop_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/internal/testlog"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// waitTimeout bounds every wait for something the OP or an app does.
const waitTimeout = 15 * time.Second

// app is one relying party under test: an httptest server whose handler is
// set once the OP is running (the OP must know the app's URLs first).
type app struct {
	name    string
	opts    appOptions
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]

	client *rp.Client
	m      *middleware.Auth
	store  *memstore.Store

	mu     sync.Mutex
	events []logout.Event
}

// newApp starts the app's server; configure it with (*app).start.
func newApp(t *testing.T, name string, opts appOptions) *app {
	t.Helper()
	a := &app{name: name, opts: opts}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := a.handler.Load()
		if h == nil {
			http.Error(w, "app not ready", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) url(path string) string { return a.srv.URL + path }

func (a *app) secret() string { return a.name + "-secret" }

// registration is the app's client at the OP.
func (a *app) registration() oidcprovider.Client {
	c := oidcprovider.Client{
		ID:                     a.name,
		Secret:                 a.secret(),
		RedirectURIs:           []string{a.url("/callback")},
		PostLogoutRedirectURIs: []string{a.url("/logged-out")},
	}
	switch {
	case a.opts.noChannels:
	case a.opts.frontChannel:
		c.FrontChannelLogoutURI = a.url("/frontchannel-logout")
		c.FrontChannelLogoutSessionRequired = true
	default:
		c.BackChannelLogoutURI = a.url("/backchannel-logout")
		c.BackChannelLogoutSessionRequired = true
	}
	return c
}

// appOptions vary how an app is wired.
type appOptions struct {
	// allowMissingExp is the back-channel verifier's compatibility mode.
	allowMissingExp bool
	// frontChannel registers and serves front-channel instead of
	// back-channel logout.
	frontChannel bool
	// noChannels registers neither front- nor back-channel logout: only
	// session management can tell the app about a logout at the OP.
	noChannels bool
	// sessionCheck, if set, is the middleware's SessionCheckInterval, and
	// the app serves GET /checked, a page with the session-check snippet
	// (see checkedPage).
	sessionCheck time.Duration
}

// start discovers the OP and wires the middleware, with its back- and
// front-channel handlers, on the app's server.
func (a *app) start(t *testing.T, op *oidcprovider.Provider) {
	t.Helper()
	ctx := t.Context()
	logger := testlog.Logger(t, slog.LevelDebug).With("app", a.name)
	c, err := rp.New(ctx, rp.Config{
		Issuer:                op.Issuer(),
		ClientID:              a.name,
		ClientSecret:          a.secret(),
		RedirectURL:           a.url("/callback"),
		PostLogoutRedirectURL: a.url("/logged-out"),
		Logger:                logger,
	})
	if err != nil {
		t.Fatalf("%s: rp.New: %v", a.name, err)
	}
	a.client = c
	a.store = memstore.New(memstore.Config{})
	record := func(_ context.Context, ev logout.Event) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.events = append(a.events, ev)
	}
	a.m, err = middleware.New(middleware.Config{
		Client:               c,
		Store:                a.store,
		CookieName:           "slo_" + a.name, // cookies are per host, and the apps share 127.0.0.1
		OnLogout:             record,
		Logger:               logger,
		Verifier:             logout.VerifierConfig{AllowMissingExp: a.opts.allowMissingExp},
		SessionCheckInterval: a.opts.sessionCheck,
		// Every login also reads the OP's UserInfo endpoint (its sub
		// checked against the ID token's): a login fails if that fails.
		Userinfo: true,
	})
	if err != nil {
		t.Fatalf("%s: middleware.New: %v", a.name, err)
	}
	mux := http.NewServeMux()
	a.m.Register(mux) // login, callback, sign-out, back- and front-channel logout
	home := a.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			fmt.Fprintf(w, "signed in as %s", s.Subject)
			return
		}
		fmt.Fprint(w, "signed out")
	}))
	mux.Handle("GET /{$}", home)
	mux.Handle("GET /after", home)
	mux.Handle("GET /session-probe", a.m.LoadSession(http.HandlerFunc(a.sessionProbe)))
	if a.opts.sessionCheck != 0 {
		mux.Handle("GET /checked", a.m.LoadSession(http.HandlerFunc(a.checkedPage)))
	}
	var h http.Handler = mux
	a.handler.Store(&h)
}

// login signs ua in through the app and returns the app's session.
func (a *app) login(t *testing.T, ua *oidcprovider.UserAgent) *sessionstore.Session {
	t.Helper()
	page, err := ua.Get(t.Context(), a.url("/login?return_to=/"))
	if err != nil {
		t.Fatalf("%s: login: %v", a.name, err)
	}
	if page.Status != http.StatusOK || page.URL.String() != a.url("/") {
		t.Fatalf("%s: login ended at %s (%d): %s", a.name, page.URL, page.Status, page.Body)
	}
	s, err := a.session(t.Context(), ua)
	if err != nil {
		t.Fatalf("%s: no session after login: %v", a.name, err)
	}
	return s
}

// session looks up the session of ua's cookie in the app's store.
func (a *app) session(ctx context.Context, ua *oidcprovider.UserAgent) (*sessionstore.Session, error) {
	u, _ := url.Parse(a.srv.URL)
	for _, c := range ua.Client.Jar.Cookies(u) {
		if c.Name == "slo_"+a.name {
			return a.store.Get(ctx, middleware.SessionID(c.Value))
		}
	}
	return nil, errors.New("no session cookie")
}

// logoutEvents returns the app's logout events of channel ch.
func (a *app) logoutEvents(ch logout.Channel) []logout.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return onChannel(a.events, ch)
}

// waitOP waits for the OP event match.
func waitOP(t *testing.T, op *oidcprovider.Provider, what string, match func(oidcprovider.Event) bool) oidcprovider.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	ev, err := op.WaitEvent(ctx, match)
	if err != nil {
		t.Fatalf("OP event %s: %v", what, err)
	}
	return ev
}

// sessionProbe is a bare Session Management 1.0 RP page (no slo code): it
// frames the OP's check_session_iframe and posts "client_id session_state"
// of the current session to it on every call of check(); the answers pile
// up in window.answers. It checks what the OP does, not what slo does.
func (a *app) sessionProbe(w http.ResponseWriter, r *http.Request) {
	s, ok := middleware.SessionFromContext(r.Context())
	if !ok {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	iframe := a.client.Metadata().CheckSessionIframe
	u, err := url.Parse(iframe)
	if err != nil || iframe == "" {
		http.Error(w, "no check_session_iframe", http.StatusNotFound)
		return
	}
	data := struct{ Iframe, Origin, Message string }{iframe, u.Scheme + "://" + u.Host, a.client.ClientID() + " " + s.Data.SessionState}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = probeTmpl.Execute(w, data)
}

var probeTmpl = template.Must(template.New("probe").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>probe</title></head><body>
<iframe id="op" src="{{.Iframe}}"></iframe>
<script>
window.answers = [];
window.opReady = false;
window.addEventListener("message", function (e) {
  if (e.origin === {{.Origin}}) { window.answers.push(e.data); }
});
window.check = function () {
  document.getElementById("op").contentWindow.postMessage({{.Message}}, {{.Origin}});
};
document.getElementById("op").addEventListener("load", function () { window.opReady = true; });
</script>
</body></html>
`))

// onChannel returns the events of channel ch.
func onChannel(events []logout.Event, ch logout.Channel) []logout.Event {
	var out []logout.Event
	for _, ev := range events {
		if ev.Channel == ch {
			out = append(out, ev)
		}
	}
	return out
}
