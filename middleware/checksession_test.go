package middleware_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
)

// attr returns the unescaped value of the attribute name in an HTML page,
// or "" with ok false.
func attr(page, name string) (string, bool) {
	m := regexp.MustCompile(`\s` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// inlineScripts returns the contents of the page's inline <script>s.
func inlineScripts(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func cspHash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// checkStrictPage asserts the headers every session-check page carries and
// that its one inline script is the one the CSP allows.
func checkStrictPage(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q is not strict", csp)
	}
	if strings.Contains(body, "<script src") {
		t.Errorf("page loads an external script")
	}
	scripts := inlineScripts(body)
	if len(scripts) != 1 {
		t.Fatalf("page has %d inline scripts, want 1", len(scripts))
	}
	if want := "script-src " + cspHash(scripts[0]) + ";"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q does not allow exactly the inline script (%s)", csp, want)
	}
}

// fetch GETs path on the app with hdr, following redirects, and returns
// the final response (body read) and body.
func (e *env) fetch(path string, hdr http.Header) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.app.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var sameOrigin = http.Header{"Sec-Fetch-Site": {"same-origin"}}

// recheck runs the session check's prompt=none re-check to its end and
// returns the result the answer page posts to the session-check page.
func (e *env) recheck() string {
	e.t.Helper()
	resp, body := e.fetch("/session-check/recheck", sameOrigin)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback" && resp.Request.URL.Path != "/session-check/recheck" {
		e.t.Fatalf("re-check ended at %d %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	checkStrictPage(e.t, resp, body)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		e.t.Errorf("answer page frameable by others")
	}
	res, ok := attr(body, "data-result")
	if !ok {
		e.t.Fatalf("answer page without data-result: %s", body)
	}
	if o, _ := attr(body, "data-rp-origin"); o != e.app.URL {
		e.t.Errorf("answer posts to %q, want the RP origin %q", o, e.app.URL)
	}
	return res
}

// plant stores a session shaped by edit (starting from a copy of the
// browser's current one) under a new id and makes the browser use it.
func (e *env) plant(edit func(*sessionstore.Session)) *sessionstore.Session {
	e.t.Helper()
	cur, err := e.store.Get(e.t.Context(), e.sessionID())
	if err != nil {
		e.t.Fatal(err)
	}
	s := cur.Clone()
	token := rand.Text()
	s.ID = middleware.SessionID(token)
	edit(s)
	if err := e.store.Create(e.t.Context(), s); err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(e.app.URL)
	e.jar.SetCookies(u, []*http.Cookie{{Name: "slo", Value: token, Path: "/"}})
	return s
}

func (e *env) current() (*sessionstore.Session, error) {
	return e.store.Get(e.t.Context(), e.sessionID())
}

func TestSessionCheckPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	s, err := e.current()
	if err != nil {
		t.Fatal(err)
	}
	if s.Data.SessionState == "" {
		t.Fatal("the login stored no session_state")
	}
	resp, body := e.fetch("/session-check", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkStrictPage(t, resp, body)
	csp := resp.Header.Get("Content-Security-Policy")
	opOrigin := testop.Origin(e.op.Issuer())
	if !strings.Contains(csp, "frame-src 'self' "+opOrigin+";") {
		t.Errorf("CSP %q: frame-src must be the RP and the OP iframe's origin %s", csp, opOrigin)
	}
	want := map[string]string{
		"data-op-frame":      e.client.Metadata().CheckSessionIframe,
		"data-op-origin":     opOrigin,
		"data-rp-origin":     e.app.URL,
		"data-client-id":     "app",
		"data-session-state": s.Data.SessionState,
		"data-interval":      "5000",
		"data-recheck":       "/session-check/recheck",
		"data-signed-out":    "false",
	}
	for name, v := range want {
		if got, _ := attr(body, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	// S-7: every postMessage names its target origin; none uses "*".
	if script := inlineScripts(body)[0]; strings.Contains(script, `"*"`) || strings.Count(script, "postMessage(") != 2 {
		t.Errorf("the RP iframe script must post only with explicit target origins")
	}
	if key, _ := attr(body, "data-key"); key == "" || strings.Contains(key, s.ID) {
		t.Errorf("data-key = %q: want a value derived from, not equal to, the session id", key)
	}
}

func TestSessionCheckPageStates(t *testing.T) {
	tests := []struct {
		name         string
		sessionState *string // stored session_state; nil: no session at all
		wantState    string
		wantOut      string
	}{
		{name: "no session", wantOut: "true"},
		{name: "no session_state", sessionState: strPtr(""), wantOut: "false"},
		{name: "session_state with a space", sessionState: strPtr("abc def"), wantOut: "false"},
		{name: "session_state with markup (escaped)", sessionState: strPtr(`abc"<x>`), wantState: `abc"<x>`, wantOut: "false"},
		{name: "session_state with a control character", sessionState: strPtr("abc\tdef"), wantOut: "false"},
		{name: "valid", sessionState: strPtr("abc.def"), wantState: "abc.def", wantOut: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			if tt.sessionState != nil {
				e.login()
				e.plant(func(s *sessionstore.Session) { s.Data.SessionState = *tt.sessionState })
			}
			resp, body := e.fetch("/session-check", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			checkStrictPage(t, resp, body)
			if got, _ := attr(body, "data-session-state"); got != tt.wantState {
				t.Errorf("data-session-state = %q, want %q", got, tt.wantState)
			}
			if got, _ := attr(body, "data-signed-out"); got != tt.wantOut {
				t.Errorf("data-signed-out = %q, want %q", got, tt.wantOut)
			}
		})
	}
}

func TestSessionCheckInterval(t *testing.T) {
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.SessionCheckInterval = 300 * time.Millisecond }})
	e.login()
	_, body := e.fetch("/session-check", nil)
	if got, _ := attr(body, "data-interval"); got != "300" {
		t.Errorf("data-interval = %q, want 300", got)
	}
	_, err := middleware.New(middleware.Config{Client: e.client, SessionCheckInterval: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "SessionCheckInterval") {
		t.Errorf("New with a 10ms interval: %v, want an error naming SessionCheckInterval", err)
	}
}

func TestSessionCheckScript(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.fetch("/session-check.js", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	for _, want := range []string{`getElementById("slo-session-check")`, "e.origin !== window.location.origin", `"slo:signed-out"`} {
		if !strings.Contains(body, want) {
			t.Errorf("script lacks %q", want)
		}
	}
}

// snippetFor renders SessionCheckSnippet in a request through LoadSession.
func (e *env) snippetFor() template.HTML {
	e.t.Helper()
	var got template.HTML
	h := e.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = e.m.SessionCheckSnippet(r.Context())
	}))
	req := httptest.NewRequestWithContext(e.t.Context(), http.MethodGet, e.app.URL+"/", nil)
	u, _ := url.Parse(e.app.URL)
	for _, c := range e.jar.Cookies(u) {
		req.AddCookie(c)
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
	return got
}

func TestSessionCheckSnippet(t *testing.T) {
	e := newEnv(t, envOptions{})
	if got := e.snippetFor(); got != "" {
		t.Errorf("snippet for an anonymous page = %q, want empty", got)
	}
	e.login()
	got := string(e.snippetFor())
	for _, want := range []string{`<iframe id="slo-session-check" src="/session-check"`, ` data-recheck="/session-check/recheck"`, " hidden", `<script src="/session-check.js"></script>`} {
		if !strings.Contains(got, want) {
			t.Errorf("snippet %q lacks %q", got, want)
		}
	}
	if strings.Index(got, "<iframe") > strings.Index(got, "<script") {
		t.Errorf("the script must follow the iframe it looks up: %q", got)
	}
}

func TestSessionCheckWithoutCheckSessionIframe(t *testing.T) {
	e := newEnv(t, envOptions{opConfig: testop.Config{NoCheckSession: true}})
	e.login()
	if got := e.client.Metadata().CheckSessionIframe; got != "" {
		t.Fatalf("OP advertises check_session_iframe %q", got)
	}
	for _, p := range []string{"/session-check", "/session-check.js"} {
		if resp, _ := e.fetch(p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for name, h := range map[string]http.Handler{"page": e.m.SessionCheckHandler(), "script": e.m.SessionCheckScriptHandler()} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/x", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s handler: %d, want 404", name, rec.Code)
		}
	}
	if got := e.snippetFor(); got != "" {
		t.Errorf("snippet = %q, want empty", got)
	}
	if resp, _ := e.fetch("/session-check/recheck", sameOrigin); resp.StatusCode != http.StatusNotFound {
		t.Errorf("re-check: %d, want 404", resp.StatusCode)
	}
	if _, err := e.current(); err != nil {
		t.Errorf("session after refused re-check: %v", err)
	}
}

func TestRecheckSameUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	before, err := e.current()
	if err != nil {
		t.Fatal(err)
	}
	// A stale session_state, as after the OP's browser state changed.
	e.plant(func(s *sessionstore.Session) { s.Data.SessionState = "stale.salt" })
	res := e.recheck()
	after, err := e.current()
	if err != nil {
		t.Fatalf("session after re-check: %v", err)
	}
	if after.Data.SessionState == "stale.salt" || after.Data.SessionState == "" {
		t.Errorf("session_state not updated: %q", after.Data.SessionState)
	}
	if res != "refreshed "+after.Data.SessionState {
		t.Errorf("answer %q, want %q", res, "refreshed "+after.Data.SessionState)
	}
	if after.Subject != before.Subject || after.SID != before.SID || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("session identity changed: %+v → %+v", before, after)
	}
	if after.Data.IDToken == "" || after.Data.IDToken == before.Data.IDToken {
		t.Errorf("ID token not replaced by the re-check's")
	}
	if ev := e.logoutEvents(); len(ev) != 0 {
		t.Errorf("events %+v, want none", ev)
	}
	// The check page now carries the new session_state.
	_, body := e.fetch("/session-check", nil)
	if got, _ := attr(body, "data-session-state"); got != after.Data.SessionState {
		t.Errorf("check page session_state %q, want %q", got, after.Data.SessionState)
	}
}

func TestRecheckEndsSession(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env) *sessionstore.Session // returns the session expected to end
	}{
		{"login_required", func(e *env) *sessionstore.Session {
			s, _ := e.current()
			e.op.EndSession(e.t.Context(), "alice")
			return s
		}},
		{"another subject", func(e *env) *sessionstore.Session {
			return e.plant(func(s *sessionstore.Session) { s.Subject = "mallory" })
		}},
		{"another OP session of the same user", func(e *env) *sessionstore.Session {
			return e.plant(func(s *sessionstore.Session) { s.SID = "an-older-sid" })
		}},
		{"invalid ID token", func(e *env) *sessionstore.Session {
			e.op.SetIDTokenHook(func(claims, _ map[string]any) { claims["nonce"] = "not-the-nonce" })
			s, _ := e.current()
			return s
		}},
		{"another issuer's ID token", func(e *env) *sessionstore.Session {
			e.op.SetIDTokenHook(func(claims, _ map[string]any) { claims["iss"] = "https://elsewhere.example" })
			s, _ := e.current()
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.login()
			s := tt.setup(e)
			if s == nil {
				t.Fatal("no session to end")
			}
			if res := e.recheck(); res != "signed-out" {
				t.Errorf("answer %q, want signed-out", res)
			}
			if _, err := e.store.Get(t.Context(), s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
				t.Errorf("session still there: %v", err)
			}
			want := []logout.Event{{Channel: logout.ChannelSessionManagement, Issuer: s.Issuer, SID: s.SID, Subject: s.Subject, Ended: 1}}
			if got := e.logoutEvents(); len(got) != 1 || got[0] != want[0] {
				t.Errorf("events %+v, want %+v", got, want)
			}
			if code, _, body := e.get("/"); code != http.StatusOK || body != "anonymous" {
				t.Errorf("after the re-check the app shows %d %q", code, body)
			}
		})
	}
}

func TestRecheckWithoutSession(t *testing.T) {
	t.Run("never logged in", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		if res := e.recheck(); res != "signed-out" {
			t.Errorf("answer %q, want signed-out", res)
		}
		if ev := e.logoutEvents(); len(ev) != 0 {
			t.Errorf("events %+v, want none", ev)
		}
	})
	t.Run("ended while at the OP", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		id := e.sessionID()
		authURL := e.startRecheck("")
		if q := authURL.Query(); q.Get("prompt") != "none" || q.Get("id_token_hint") == "" {
			t.Fatalf("authorization request %s lacks prompt=none or id_token_hint", authURL)
		}
		if ended, err := e.store.Delete(t.Context(), id); ended == nil || err != nil {
			t.Fatal(ended, err)
		}
		cb := e.authorize(authURL)
		resp, body := e.fetch(cb.RequestURI(), nil)
		if got, _ := attr(body, "data-result"); got != "signed-out" {
			t.Errorf("answer %d %q, want signed-out", resp.StatusCode, got)
		}
		if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("session resurrected: %v", err)
		}
		if ev := e.logoutEvents(); len(ev) != 0 {
			t.Errorf("events %+v, want none (nothing was ended here)", ev)
		}
	})
	t.Run("browser logged in again meanwhile", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		old := e.sessionID()
		authURL := e.startRecheck("")
		e.login() // replaces the session
		cur := e.sessionID()
		if cur == old {
			t.Fatal("login kept the session id")
		}
		cb := e.authorize(authURL)
		_, body := e.fetch(cb.RequestURI(), nil)
		if got, _ := attr(body, "data-result"); got != "signed-out" {
			t.Errorf("answer %q, want signed-out (reload the stale page)", got)
		}
		if _, err := e.store.Get(t.Context(), cur); err != nil {
			t.Errorf("the new session was touched: %v", err)
		}
	})
}

func TestRecheckRefused(t *testing.T) {
	tests := []struct {
		name  string
		query string
		hdr   http.Header
		want  int
	}{
		{"with prompt", "prompt=none", sameOrigin, http.StatusBadRequest},
		{"with a bad return_to", "return_to=//evil.example/", sameOrigin, http.StatusBadRequest},
		{"with return_to twice", "return_to=/a&return_to=/b", sameOrigin, http.StatusBadRequest},
		{"with another parameter", "login_hint=bob", sameOrigin, http.StatusBadRequest},
		{"from another site", "", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"from a same-site origin", "", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.login()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/session-check/recheck?"+tt.query, nil)
			for k, v := range tt.hdr {
				req.Header[k] = v
			}
			resp, err := e.noRedirect().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("refused re-check set cookies %q", sc)
			}
			if _, err := e.current(); err != nil {
				t.Errorf("session after refused re-check: %v", err)
			}
		})
	}
}

// TestRecheckLoginCookie pins the re-check's login cookie: SameSite=None
// when Secure, because the callback arrives in an iframe after a cross-site
// redirect from the OP, where browsers send no Lax cookies.
func TestRecheckLoginCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "secure"}[secure], func(t *testing.T) {
			e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.Secure = &secure }})
			token := rand.Text()
			now := time.Now()
			err := e.store.Create(t.Context(), &sessionstore.Session{
				ID: middleware.SessionID(token), Issuer: e.op.Issuer(), Subject: "alice",
				CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			name := "slo"
			if secure {
				name = "__Host-slo"
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/session-check/recheck", nil)
			req.Header.Set("Cookie", name+"="+token)
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var c *http.Cookie
			for _, ck := range resp.Cookies() {
				if strings.HasPrefix(ck.Name, name+"_recheck_") {
					c = ck
				}
			}
			if c == nil {
				t.Fatalf("no re-check cookie in %q", resp.Header.Values("Set-Cookie"))
			}
			want := http.SameSiteLaxMode
			if secure {
				want = http.SameSiteNoneMode
			}
			if c.SameSite != want || c.Secure != secure || !c.HttpOnly || c.Path != "/" {
				t.Errorf("re-check cookie %+v: want SameSite %v, Secure %v, HttpOnly, Path /", c, want, secure)
			}
		})
	}
}

func strPtr(s string) *string { return &s }

// startRecheck starts a re-check (query after "/login?") as the
// session-check page would and returns the authorization request the
// browser was sent to.
func (e *env) startRecheck(query string) *url.URL {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.app.URL+"/session-check/recheck?"+query, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("re-check start: %d", resp.StatusCode)
	}
	authURL, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return authURL
}

// startRecheckAt starts a re-check and runs it at the OP, returning the
// callback URL the OP sent the browser to.
func (e *env) startRecheckAt(query string) *url.URL {
	e.t.Helper()
	return e.authorize(e.startRecheck(query))
}

// TestRecheckCrossSite: an error response to an iframe re-check whose
// callback came back from another site is not trusted (the OP may not have
// seen its cookies in a third-party iframe): the session stays and the page
// is asked to confirm at top level. A valid answer for another user is
// trusted, and so is any answer to a top-level re-check.
func TestRecheckCrossSite(t *testing.T) {
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	t.Run("login_required in an iframe", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		id := e.sessionID()
		e.op.EndSession(t.Context(), "alice")
		cb := e.startRecheckAt("")
		_, body := e.fetch(cb.RequestURI(), crossSite)
		if got, _ := attr(body, "data-result"); got != "confirm" {
			t.Errorf("answer %q, want confirm", got)
		}
		if _, err := e.store.Get(t.Context(), id); err != nil {
			t.Errorf("session ended on an untrusted answer: %v", err)
		}
		if ev := e.logoutEvents(); len(ev) != 0 {
			t.Errorf("events %+v, want none", ev)
		}
	})
	t.Run("another subject in an iframe", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		s := e.plant(func(s *sessionstore.Session) { s.Subject = "mallory" })
		cb := e.startRecheckAt("")
		_, body := e.fetch(cb.RequestURI(), crossSite)
		if got, _ := attr(body, "data-result"); got != "signed-out" {
			t.Errorf("answer %q, want signed-out", got)
		}
		if _, err := e.store.Get(t.Context(), s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("session still there: %v", err)
		}
	})
	t.Run("login_required at top level", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		id := e.sessionID()
		e.op.EndSession(t.Context(), "alice")
		cb := e.startRecheckAt("return_to=" + url.QueryEscape("/private/x?y=1"))
		resp, err := e.noRedirect().Do(mustGet(t, cb.String(), crossSite))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/private/x?y=1" {
			t.Errorf("top-level re-check answered %d → %q, want 303 → /private/x?y=1", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("session still there: %v", err)
		}
		if ev := e.logoutEvents(); len(ev) != 1 || ev[0].Channel != logout.ChannelSessionManagement || ev[0].Ended != 1 {
			t.Errorf("events %+v, want one session-management logout", ev)
		}
	})
}

func mustGet(t *testing.T, u string, hdr http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return req
}

// TestRecheckTopLevel: with return_to, the re-check redirects there instead
// of answering the session-check page.
func TestRecheckTopLevel(t *testing.T) {
	t.Run("same user", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		e.plant(func(s *sessionstore.Session) { s.Data.SessionState = "stale.salt" })
		resp, body := e.fetch("/session-check/recheck?return_to="+url.QueryEscape("/private/page"), sameOrigin)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/private/page" || !strings.HasPrefix(body, "private alice") {
			t.Errorf("ended at %d %s %q", resp.StatusCode, resp.Request.URL, body)
		}
		s, err := e.current()
		if err != nil || s.Data.SessionState == "stale.salt" {
			t.Errorf("session after top-level re-check: %v, session_state %q", err, s.Data.SessionState)
		}
	})
	t.Run("no session", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		resp, err := e.noRedirect().Do(mustGet(t, e.app.URL+"/session-check/recheck?return_to=/x", sameOrigin))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/x" {
			t.Errorf("answered %d → %q, want 303 → /x", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// ExampleAuth_SessionCheckSnippet puts the session check into the
// pages of logged-in users. When the user logs out at the OP, the page
// notices within SessionCheckInterval and reloads.
func ExampleAuth_SessionCheckSnippet() {
	ctx := context.Background()
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	if err := op.Register(rptest.Client{ClientID: "app", ClientSecret: "secret", RedirectURIs: []string{app.URL + "/callback"}}); err != nil {
		log.Fatal(err)
	}
	client, err := rp.New(ctx, rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "secret", RedirectURL: app.URL + "/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := middleware.New(middleware.Config{Client: client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	m.Register(mux)

	page := template.Must(template.New("page").Parse(`<p>Hello {{.Sub}}</p>{{.SessionCheck}}`))
	mux.Handle("GET /{$}", m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		page.Execute(w, struct {
			Sub          string
			SessionCheck template.HTML
		}{s.Subject, m.SessionCheckSnippet(r.Context())})
	})))

	resp, err := rptest.NewBrowser().Get(app.URL + "/") // signs alice in at the OP
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// <p>Hello alice</p><iframe id="slo-session-check" src="/session-check" data-recheck="/session-check/recheck" title="Session check" hidden></iframe><script src="/session-check.js"></script>
}

// TestRecheckStateMismatch: a re-check callback whose state shares the
// first 12 characters (which name the record's cookie) but differs after
// them is refused (400) by the middleware's own comparison: no logout
// event, and the session stays.
func TestRecheckStateMismatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.login()
	id := e.sessionID()
	e.op.EndSession(t.Context(), "alice") // the OP would answer login_required
	cb := e.startRecheckAt("")
	q := cb.Query()
	state := q.Get("state")
	forged := state[:12] + strings.Repeat("A", len(state)-12)
	if forged == state {
		forged = state[:12] + strings.Repeat("B", len(state)-12)
	}
	q.Set("state", forged)
	cb.RawQuery = q.Encode()
	resp, _ := e.fetch(cb.RequestURI(), sameOrigin)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("re-check callback with a forged state = %d, want 400", resp.StatusCode)
	}
	if ev := e.logoutEvents(); len(ev) != 0 {
		t.Fatalf("events %+v, want none", ev)
	}
	if _, err := e.store.Get(t.Context(), id); err != nil {
		t.Fatalf("a forged re-check state ended the session: %v", err)
	}
}
