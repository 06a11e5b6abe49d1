// Package deploy_test runs slo's middleware in deployments other than "/"
// of one host with one OP, in headless chromium: an application under a
// path prefix behind http.StripPrefix, one that signs in through two OPs,
// scripts that get 401 instead of a login redirect, the error pages, and
// response_mode=form_post.
package deploy_test

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/e2etest"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// startOP starts slo's public test OP (rp/rptest) on host. Where host
// cannot be listened on (a loopback alias missing), it skips the test, or
// fails it in CI, as e2etest.Listen does, rather than let rptest.NewServer
// panic.
func startOP(t *testing.T, host string) *rptest.Server {
	t.Helper()
	e2etest.Listen(t, host).Close()
	op := rptest.NewServer(rptest.Options{Host: host, Logger: e2etest.Logger(t).With("app", "op")})
	t.Cleanup(op.Close)
	return op
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>app</title></head><body>
{{if .Name}}<p id="signed-in">Signed in as {{.Name}}</p>{{else}}<p id="signed-out">Not signed in.</p>{{end}}
</body></html>
`))

func page(w http.ResponseWriter, r *http.Request) {
	var data struct{ Name string }
	if s, ok := middleware.SessionFromContext(r.Context()); ok {
		data.Name = s.Profile().Name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTmpl.Execute(w, data)
}

// newBrowser starts chromium for a test with a deadline.
func newBrowser(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(browser.New(t), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cookie returns the browser's cookie called name, or nil.
func cookie(ctx context.Context, t *testing.T, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
	})
	if err != nil {
		t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestPrefixScriptsAndErrorPages (issue 12 §1, §3, §6): an application
// under /app behind http.StripPrefix signs in and out in chromium with the
// external paths and a cookie at /app; a fetch without a session gets 401
// and JSON, not the OP's login page; a callback without its cookie and a
// refusal by the OP show error pages a person can act on.
func TestPrefixScriptsAndErrorPages(t *testing.T) {
	ctx := newBrowser(t)
	op := startOP(t, "localhost")
	ln := e2etest.Listen(t, "127.0.0.1")
	base := "http://" + ln.Addr().String() + "/app/"
	if err := op.Register(rptest.Client{ClientID: "app", ClientSecret: "s",
		RedirectURIs: []string{base + "callback"}, PostLogoutRedirectURIs: []string{base + "logged-out"}}); err != nil {
		t.Fatal(err)
	}
	client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s",
		RedirectURL: base + "callback", PostLogoutRedirectURL: base + "logged-out", Logger: e2etest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Client: client, BaseURL: base, PrefixStripped: true, Logger: e2etest.Logger(t),
		LoginOptions: func(r *http.Request) []rp.AuthOption {
			if r.URL.Query().Has("silent") {
				return []rp.AuthOption{rp.Prompt("none")}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	inner := http.NewServeMux()
	auth.Register(inner)
	inner.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(page)))
	inner.Handle("GET /private/", auth.RequireLogin(http.HandlerFunc(page)))
	inner.Handle("GET /api/me", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, `{"sub":%q}`, s.Subject)
	})))
	outer := http.NewServeMux()
	outer.Handle("/app/", http.StripPrefix("/app", inner))
	e2etest.Serve(t, ln, outer)

	// A script without a session: 401 and JSON, no redirect to the OP.
	browser.Do(ctx, t, "open the app", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#signed-out")))
	status := run(ctx, t, "fetch without a session", chromedp.Evaluate[string](
		`fetch("/app/api/me").then(r => r.status + " " + r.redirected + " " + r.headers.get("content-type"))`, chromedp.EvalAwaitPromise))
	if status != "401 false application/json" {
		t.Errorf("fetch without a session: %q, want 401 without redirect", status)
	}

	// The OP refuses a silent login (no OP session yet): an error page
	// with the OP's error and a way to try again.
	browser.Do(ctx, t, "silent login refused", chromedp.Navigate(base+"login?silent=1"), chromedp.WaitVisible(chromedp.CSS("h1")))
	text := run(ctx, t, "read the page", chromedp.Text(chromedp.CSS("body")))
	retry := run(ctx, t, "read the link", chromedp.AttributeValue(chromedp.CSS("a"), "href")).Value
	if !strings.Contains(text, "Sign-in was refused") || !strings.Contains(text, "login_required") || retry != "/app/login" {
		t.Errorf("OP refusal page: %q, retry %q", text, retry)
	}

	// Sign in through a protected page under the prefix.
	browser.Do(ctx, t, "sign in", chromedp.Navigate(base+"private/page?x=1"), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	if url := run(ctx, t, "location", chromedp.Location()); url != base+"private/page?x=1" {
		t.Errorf("after login at %s, want the protected page", url)
	}
	if c := cookie(ctx, t, "slo"); c == nil || c.Path != "/app" || !c.HTTPOnly {
		t.Errorf("session cookie %+v, want HttpOnly at /app", c)
	}
	status = run(ctx, t, "fetch with the session", chromedp.Evaluate[string](
		`fetch("/app/api/me").then(r => r.status + " " + r.redirected)`, chromedp.EvalAwaitPromise))
	if status != "200 false" {
		t.Errorf("fetch with a session: %q", status)
	}

	// A callback whose login cookie the browser does not have.
	browser.Do(ctx, t, "stray callback", chromedp.Navigate(base+"callback?state=STRAY&code=x"), chromedp.WaitVisible(chromedp.CSS("h1")))
	text = run(ctx, t, "read the page", chromedp.Text(chromedp.CSS("body")))
	if !strings.Contains(text, "cookies are blocked") || !strings.Contains(text, "another address than http://127.0.0.1") {
		t.Errorf("state error page: %q", text)
	}
}

// run runs a in the tab of ctx and fails the test, naming what, if it fails.
func run[T any](ctx context.Context, t *testing.T, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// TestTwoOPsInBrowser (issue 12 §2): one application, two OPs, two Auths
// on one mux sharing one store; the browser signs in through both, the
// first OP ends its session (back channel), and only that application
// session ends.
func TestTwoOPsInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	ln := e2etest.Listen(t, "127.0.0.1")
	app := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	store := memstore.New(memstore.Config{})
	ops := map[string]*rptest.Server{}
	for name, host := range map[string]string{"a": "localhost", "b": "127.0.0.2"} {
		op := startOP(t, host)
		p := "/" + name
		if err := op.Register(rptest.Client{ClientID: "app", ClientSecret: "s", RedirectURIs: []string{app + p + "/callback"},
			BackChannelLogoutURI: app + p + "/backchannel-logout"}); err != nil {
			t.Fatal(err)
		}
		client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s",
			RedirectURL: app + p + "/callback", Logger: e2etest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := middleware.New(middleware.Config{Client: client, Store: store, CookieName: "slo_" + name,
			LoginPath: p + "/login", LogoutPath: p + "/logout", MetadataPath: p + "/.well-known/oidc-client",
			BackChannelPath: p + "/backchannel-logout", FrontChannelPath: p + "/frontchannel-logout",
			SessionCheckPath: p + "/session-check", LandingPath: p + "/", Logger: e2etest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		auth.Register(mux)
		mux.Handle("GET "+p+"/{$}", auth.LoadSession(http.HandlerFunc(page)))
		ops[name] = op
	}
	e2etest.Serve(t, ln, mux)

	for _, name := range []string{"a", "b"} {
		browser.Do(ctx, t, "sign in through "+name,
			chromedp.Navigate(app+"/"+name+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#signed-in")),
		)
	}
	if ds := ops["a"].EndSession(t.Context(), "alice").BackChannel; len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("back-channel deliveries of OP a: %+v", ds)
	}
	browser.Do(ctx, t, "a signed out, b signed in",
		chromedp.Navigate(app+"/a/"), chromedp.WaitVisible(chromedp.CSS("#signed-out")),
		chromedp.Navigate(app+"/b/"), chromedp.WaitVisible(chromedp.CSS("#signed-in")),
	)
}

// TestFormPostInBrowser (issue 12 §7): with response_mode=form_post the OP
// (on another site) posts the authorization response to the callback, and
// the login cookie, SameSite=None and Secure on http://localhost, comes
// with that cross-site POST.
func TestFormPostInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	op := startOP(t, "127.0.0.1")
	ln := e2etest.Listen(t, "localhost")
	app := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if err := op.Register(rptest.Client{ClientID: "app", ClientSecret: "s", RedirectURIs: []string{app + "/callback"}}); err != nil {
		t.Fatal(err)
	}
	client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s",
		RedirectURL: app + "/callback", Logger: e2etest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	secure := true // browsers accept Secure cookies from http://localhost
	auth, err := middleware.New(middleware.Config{Client: client, ResponseMode: "form_post", Secure: &secure, Logger: e2etest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	auth.Register(mux)
	mux.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(page)))
	var mu sync.Mutex
	var methods []string
	e2etest.Serve(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/callback" {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	}))
	browser.Do(ctx, t, "sign in with form_post", chromedp.Navigate(app+"/login"))
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS("#signed-in"))); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("not signed in with form_post: at %s: %q (%v)", loc, body, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(methods) != 1 || methods[0] != http.MethodPost {
		t.Errorf("callback requests %v, want one POST", methods)
	}
}
