package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// prefixApp is an application served under /app of its host, either with
// full paths on one mux or behind http.StripPrefix.
type prefixApp struct {
	srv        *httptest.Server
	auth       *middleware.Auth
	http       *http.Client
	endSession string // the path of the OP's end_session_endpoint
}

func newPrefixApp(t *testing.T, stripped bool) *prefixApp {
	t.Helper()
	op := rptest.NewServer(rptest.Options{})
	t.Cleanup(op.Close)
	outer := http.NewServeMux()
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	base := srv.URL + "/app/"
	if err := op.Register(rptest.Client{ClientID: "app", ClientSecret: "s",
		RedirectURIs: []string{base + "callback"}, PostLogoutRedirectURIs: []string{base + "logged-out"}}); err != nil {
		t.Fatal(err)
	}
	client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s",
		RedirectURL: base + "callback", PostLogoutRedirectURL: base + "logged-out"})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Client: client, BaseURL: base, PrefixStripped: stripped,
		Key: []byte("0123456789abcdef0123456789abcdef"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux, private := outer, "/app/private/"
	if stripped {
		mux, private = http.NewServeMux(), "/private/"
		outer.Handle("/app/", http.StripPrefix("/app", mux))
	}
	auth.Register(mux)
	mux.Handle(private, auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "private %s %s", s.Subject, auth.SessionCheckSnippet(r.Context()))
	})))
	end, err := url.Parse(client.Metadata().EndSessionEndpoint)
	if err != nil || end.Path == "" {
		t.Fatalf("the OP's end_session_endpoint %q: %v", client.Metadata().EndSessionEndpoint, err)
	}
	return &prefixApp{srv: srv, auth: auth, http: rptest.NewBrowser(), endSession: end.Path}
}

// TestPathPrefix: under /app, with full paths and behind http.StripPrefix,
// RequireLogin, the login, the callback, return_to, the sign-out and the
// post-logout return all use the external paths; the cookie's path is
// /app; the registration and the session-check snippet name /app URLs.
func TestPathPrefix(t *testing.T) {
	for _, stripped := range []bool{false, true} {
		t.Run(fmt.Sprint("stripped=", stripped), func(t *testing.T) {
			a := newPrefixApp(t, stripped)
			resp, err := a.http.Get(a.srv.URL + "/app/private/page?x=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Request.URL.RequestURI() != "/app/private/page?x=1" ||
				!strings.HasPrefix(string(body), "private alice") {
				t.Fatalf("login through /app ended at %d %s %q", resp.StatusCode, resp.Request.URL, body)
			}
			for _, want := range []string{`src="/app/session-check"`, `data-recheck="/app/session-check/recheck"`, `<script src="/app/session-check.js">`} {
				if !strings.Contains(string(body), want) {
					t.Errorf("snippet lacks %s: %s", want, body)
				}
			}
			// (The OP's cookies share the jar: cookies do not tell ports apart.)
			has := func(path string) bool {
				u, _ := url.Parse(a.srv.URL + path)
				for _, c := range a.http.Jar.Cookies(u) {
					if c.Name == "slo" {
						return true
					}
				}
				return false
			}
			if !has("/app/") || !has("/app") {
				t.Fatal("no session cookie for /app")
			}
			if has("/") || has("/other") {
				t.Error("the session cookie reaches paths outside the app")
			}

			resp, err = a.http.Get(a.srv.URL + "/app/.well-known/oidc-client")
			if err != nil {
				t.Fatal(err)
			}
			var reg map[string]any
			json.NewDecoder(resp.Body).Decode(&reg)
			resp.Body.Close()
			if reg["frontchannel_logout_uri"] != a.srv.URL+"/app/frontchannel-logout" ||
				reg["backchannel_logout_uri"] != a.srv.URL+"/app/backchannel-logout" {
				t.Errorf("registration: %v", reg)
			}

			// Sign out: through the OP and back to /app/logged-out, which
			// sends the browser on to the sign-out's return_to.
			step := *a.http
			step.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/app/logout", strings.NewReader("return_to=/app/private/bye"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			var trail []string
			for range 5 {
				resp, err = step.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := resp.Location()
				if loc == nil {
					break
				}
				trail = append(trail, loc.Path)
				req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
			}
			want := []string{a.endSession, "/app/logged-out", "/app/private/bye", "/app/login"}
			if strings.Join(trail[:min(len(trail), 4)], " ") != strings.Join(want, " ") {
				t.Fatalf("sign-out went %v, want %v", trail, want)
			}
			if has("/app/") {
				t.Error("the session cookie survived the sign-out")
			}
		})
	}
}

// TestPathPrefixConfig: a __Host- cookie cannot live under a path, and the
// redirect URL must lie under BaseURL.
func TestPathPrefixConfig(t *testing.T) {
	op := rptest.NewServer(rptest.Options{})
	t.Cleanup(op.Close)
	client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app",
		RedirectURL: "http://127.0.0.1:1/other/callback"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = middleware.New(middleware.Config{Client: client, BaseURL: "http://127.0.0.1:1/app/", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "must lie under BaseURL") {
		t.Errorf("New with a RedirectURL outside BaseURL = %v", err)
	}
	secure := true
	_, err = middleware.New(middleware.Config{Client: client, BaseURL: "http://127.0.0.1:1/other/", Secure: &secure,
		CookieName: "__Host-x", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "__Host-") {
		t.Errorf("New with a __Host- cookie under a path = %v", err)
	}
}

// TestSecureCookieNames: a secure cookie at / gets the __Host- prefix;
// under a BaseURL path, where a __Host- cookie cannot live, __Secure- and
// that path.
func TestSecureCookieNames(t *testing.T) {
	secure := true
	for _, tc := range []struct{ base, name, path string }{
		{"/", "__Host-slo", "/"},
		{"/app/", "__Secure-slo", "/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
				c.Secure = &secure
				c.BaseURL = strings.TrimSuffix(c.Client.Config().RedirectURL, "callback")
			}, rpConfig: func(c *rp.Config) {
				if tc.base != "/" {
					c.RedirectURL = strings.TrimSuffix(c.RedirectURL, "/callback") + tc.base + "callback"
					c.PostLogoutRedirectURL = ""
				}
			}})
			resp, err := e.noRedirect().Get(e.app.URL + tc.base + "login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var login *http.Cookie
			for _, c := range resp.Cookies() {
				if strings.HasPrefix(c.Name, tc.name+"_login_") {
					login = c
				}
			}
			if login == nil || login.Path != tc.path || !login.Secure {
				t.Fatalf("login cookie %+v in %q, want %s_login_… at %s, Secure", login, resp.Header.Values("Set-Cookie"), tc.name, tc.path)
			}
		})
	}
}

// TestRequireLoginAnswersAPIs401: requests that are not top-level
// navigations get 401 with a JSON body and no redirect; navigations go to
// login; Config.Navigation decides.
func TestRequireLoginAnswersAPIs401(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name   string
		method string
		hdr    http.Header
		want   int
	}{
		{"navigation", http.MethodGet, http.Header{"Sec-Fetch-Mode": {"navigate"}, "Accept": {"text/html"}}, http.StatusSeeOther},
		{"navigation without fetch metadata", http.MethodGet, http.Header{"Accept": {"text/html,*/*"}}, http.StatusSeeOther},
		{"fetch", http.MethodGet, http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"*/*"}}, http.StatusUnauthorized},
		{"fetch asking for html", http.MethodGet, http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"text/html"}}, http.StatusUnauthorized},
		{"JSON client", http.MethodGet, http.Header{"Accept": {"application/json"}}, http.StatusUnauthorized},
		{"no headers", http.MethodGet, http.Header{"Accept": {"*/*"}}, http.StatusUnauthorized},
		{"POST form", http.MethodPost, http.Header{"Sec-Fetch-Mode": {"navigate"}, "Accept": {"text/html"}}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, e.app.URL+"/private/x", nil)
			for k, v := range tc.hdr {
				req.Header[k] = v
			}
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				var v struct{ Error string }
				if json.Unmarshal(body, &v) != nil || v.Error != "login_required" || resp.Header.Get("Location") != "" ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("401 answer: %q %v", body, resp.Header)
				}
			}
		})
	}
	e = newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
		c.Navigation = func(*http.Request) bool { return true }
	}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/private/x", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("with Config.Navigation always true: %d, want a redirect", resp.StatusCode)
	}
}

// TestBrowserSessionCookie: the session cookie has no Expires or Max-Age,
// and the session still ends on the server after its lifetime.
func TestBrowserSessionCookie(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
		c.BrowserSessionCookie = true
		c.AbsoluteLifetime = time.Hour
		c.Now = clk.Now
		c.Store = memstore.New(memstore.Config{Now: clk.Now})
	}})
	cb := e.authorize(e.startLogin())
	resp, err := e.noRedirect().Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var line string
	for _, l := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(l, "slo=") {
			line = l
		}
	}
	if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Fatalf("session cookie %q, want no Expires and no Max-Age", line)
	}
	if code, _, body := e.get("/private/x"); code != http.StatusOK || !strings.HasPrefix(body, "private alice") {
		t.Fatalf("with the session: %d %q", code, body)
	}
	clk.Advance(time.Hour)
	if code, _, body := e.get("/"); code != http.StatusOK || body != "anonymous" {
		t.Fatalf("after the absolute lifetime: %d %q, want anonymous", code, body)
	}
}
