package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// profileHook adds profile claims to the ID tokens the test OP issues.
func profileHook(extra map[string]any) func(claims, header map[string]any) {
	return func(claims, _ map[string]any) {
		claims["name"] = "Alice Liddell"
		claims["email"] = "alice@example.com"
		claims["email_verified"] = true
		claims["groups"] = []string{"staff", "admins"}
		for k, v := range extra {
			claims[k] = v
		}
	}
}

// TestClaimsInSession: the session keeps the ID token's claims, readable
// with Session.Profile and Session.Claims, without a store round trip.
func TestClaimsInSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.op.SetIDTokenHook(profileHook(nil))
	e.login()
	s := e.session()
	p := s.Profile()
	if p.Name != "Alice Liddell" || p.Email != "alice@example.com" || !p.EmailVerified || p.AuthTime.IsZero() {
		t.Fatalf("Profile = %+v", p)
	}
	var c struct {
		Sub    string   `json:"sub"`
		Groups []string `json:"groups"`
	}
	if err := s.Claims(&c); err != nil || c.Sub != "alice" || !slices.Equal(c.Groups, []string{"staff", "admins"}) {
		t.Fatalf("Claims = %+v, %v", c, err)
	}
}

// TestClaimsFilterAndBound: Config.Claims keeps only the listed claims (and
// sub, auth_time, acr, amr); claims over MaxClaimsBytes are cut down to the
// standard profile.
func TestClaimsFilterAndBound(t *testing.T) {
	t.Run("filter", func(t *testing.T) {
		e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.Claims = []string{"email"} }})
		e.op.SetIDTokenHook(profileHook(nil))
		e.login()
		var m map[string]any
		if err := e.session().Claims(&m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"email", "sub", "auth_time"} {
			if _, ok := m[k]; !ok {
				t.Errorf("claim %s missing from %v", k, m)
			}
		}
		for _, k := range []string{"name", "groups", "nonce", "iss"} {
			if _, ok := m[k]; ok {
				t.Errorf("claim %s kept although not listed: %v", k, m)
			}
		}
	})
	t.Run("bound", func(t *testing.T) {
		e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.MaxClaimsBytes = 512 }})
		e.op.SetIDTokenHook(profileHook(map[string]any{"big": strings.Repeat("x", 2000)}))
		e.login()
		s := e.session()
		if len(s.Data.Claims) > 512 {
			t.Fatalf("claims of %d bytes kept, want at most 512", len(s.Data.Claims))
		}
		if p := s.Profile(); p.Email != "alice@example.com" || p.Name != "Alice Liddell" {
			t.Errorf("the profile was not kept: %+v", p)
		}
		if !strings.Contains(e.logs(), "MaxClaimsBytes") {
			t.Error("no warning naming the setting")
		}
	})
}

// TestOnLogin: the hook sees the verified claims before the session exists;
// it can add data to the session, or refuse the user (403, nothing stored,
// no detail of the hook on the page).
func TestOnLogin(t *testing.T) {
	t.Run("adds data", func(t *testing.T) {
		e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
			c.OnLogin = func(r *http.Request, s *sessionstore.Session, res *rp.Result) error {
				if s.ID != "" || res.Subject != "alice" || s.Profile().Email != "alice@example.com" {
					return fmt.Errorf("unexpected session %+v", s)
				}
				s.Data.Values = map[string]string{"tenant": "wonderland"}
				s.Subject = "mallory" // ignored: the identity is the OP's
				return nil
			}
		}})
		e.op.SetIDTokenHook(profileHook(nil))
		e.login()
		if s := e.session(); s.Data.Values["tenant"] != "wonderland" || s.Subject != "alice" {
			t.Fatalf("session %+v", s)
		}
	})
	t.Run("refuses", func(t *testing.T) {
		e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
			c.OnLogin = func(r *http.Request, s *sessionstore.Session, res *rp.Result) error {
				var c struct{ Groups []string }
				s.Claims(&c)
				if !slices.Contains(c.Groups, "wizards") {
					return fmt.Errorf("%w: not in group wizards (secret detail)", middleware.ErrForbidden)
				}
				return nil
			}
		}})
		e.op.SetIDTokenHook(profileHook(nil))
		cb := e.authorize(e.startLogin())
		resp, body := e.fetchPage(cb.RequestURI(), nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Access denied") || strings.Contains(body, "secret detail") {
			t.Fatalf("refused login = %d %q", resp.StatusCode, body)
		}
		e.noSessionCreated()
		if !strings.Contains(e.logs(), "secret detail") {
			t.Error("the hook's error was not logged")
		}
	})
	t.Run("fails", func(t *testing.T) {
		e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
			c.OnLogin = func(*http.Request, *sessionstore.Session, *rp.Result) error { return errors.New("database down") }
		}})
		cb := e.authorize(e.startLogin())
		resp, body := e.fetchPage(cb.RequestURI(), nil)
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "database") {
			t.Fatalf("failed hook = %d %q", resp.StatusCode, body)
		}
		e.noSessionCreated()
	})
}

// authParams returns the parameters of the authorization request a
// /login request sends.
func (e *env) authParams(path string) (url.Values, int) {
	e.t.Helper()
	resp, _ := e.fetchPage(path, nil)
	if resp.StatusCode != http.StatusFound {
		return nil, resp.StatusCode
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u.Query(), resp.StatusCode
}

// TestLoginOptionsAndParams: Config.LoginOptions adds parameters per
// request; /login passes the allowlisted query parameters only when
// Config.LoginParams is on, and checks their values.
func TestLoginOptionsAndParams(t *testing.T) {
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) {
		c.LoginOptions = func(r *http.Request) []rp.AuthOption {
			if r.URL.Query().Get("tenant") == "b" {
				return []rp.AuthOption{rp.Param("kc_idp_hint", "tenant-b")}
			}
			return nil
		}
	}})
	if q, _ := e.authParams("/login?tenant=b"); q.Get("kc_idp_hint") != "tenant-b" {
		t.Errorf("LoginOptions not applied: %v", q)
	}
	if _, code := e.authParams("/login?prompt=login"); code != http.StatusBadRequest {
		t.Errorf("prompt without LoginParams = %d, want 400", code)
	}
	if q, _ := e.authParams("/login?max_age=60&acr_values=mfa+hwk"); q.Get("max_age") != "60" || q.Get("acr_values") != "mfa hwk" {
		t.Errorf("step-up parameters not passed: %v", q)
	}

	e = newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.LoginParams = true }})
	q, _ := e.authParams("/login?prompt=login&login_hint=alice%40example.com&ui_locales=de-CH+en&other=x")
	if q.Get("prompt") != "login" || q.Get("login_hint") != "alice@example.com" || q.Get("ui_locales") != "de-CH en" || q.Has("other") {
		t.Errorf("authorization request %v", q)
	}
	for _, bad := range []string{"prompt=none", "prompt=login&prompt=consent", "ui_locales=%3Cscript%3E", "login_hint=a%0Ab", "max_age=-1", "max_age=x"} {
		if _, code := e.authParams("/login?" + bad); code != http.StatusBadRequest {
			t.Errorf("/login?%s = %d, want 400", bad, code)
		}
	}
	// A login with prompt=login completes.
	if code, _, body := e.get("/login?prompt=login"); code != http.StatusOK || body != "hello alice" {
		t.Errorf("login with prompt=login: %d %q", code, body)
	}
}

// TestRequireStepUp: a route demanding an acr or a recent login sends a
// session that does not meet it to login with acr_values or max_age; the
// callback refuses an ID token that still does not meet it (403), and
// accepts one that does.
func TestRequireStepUp(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.Now = clk.Now }, mux: func(m *http.ServeMux, a *middleware.Auth) {
		m.Handle("GET /mfa/", a.Require(middleware.ACR("mfa"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("mfa page"))
		})))
		m.Handle("GET /fresh/", a.Require(middleware.MaxAge(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("fresh page"))
		})))
	}})
	e.login()

	// acr: an OP that does not comply (it answers acr "pwd") is refused
	// at the callback.
	resp, _ := e.fetchPage("/mfa/x", nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Path != "/login" || loc.Query().Get("acr_values") != "mfa" || loc.Query().Get("return_to") != "/mfa/x" {
		t.Fatalf("step-up redirect = %d %s", resp.StatusCode, loc)
	}
	e.op.SetIDTokenHook(func(claims, _ map[string]any) { claims["acr"] = "pwd" })
	if code, _, body := e.get(loc.String()); code != http.StatusForbidden || !strings.Contains(body, "not strong enough") {
		t.Fatalf("login whose ID token lacks the acr = %d %q, want 403", code, body)
	}
	// The test OP itself answers the first acr asked for.
	e.op.SetIDTokenHook(nil)
	if code, u, body := e.get("/mfa/x"); code != http.StatusOK || body != "mfa page" || u.Path != "/mfa/x" {
		t.Fatalf("after step-up: %d %s %q", code, u, body)
	}
	// A script gets 401, not a redirect.
	e.login()
	resp, body := e.fetchPage("/mfa/x", http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"*/*"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "insufficient_user_authentication") {
		t.Errorf("script on a step-up route = %d %q", resp.StatusCode, body)
	}

	// max_age: fresh right after login, stale two minutes later.
	if code, _, body := e.get("/fresh/x"); code != http.StatusOK || body != "fresh page" {
		t.Fatalf("fresh login: %d %q", code, body)
	}
	clk.Advance(2 * time.Minute)
	resp, _ = e.fetchPage("/fresh/x", nil)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("max_age") != "60" {
		t.Fatalf("stale login: %d %s", resp.StatusCode, loc)
	}
	// An OP that keeps the old auth_time is refused.
	old := time.Now().Add(-time.Hour).Unix()
	e.op.SetIDTokenHook(func(claims, _ map[string]any) { claims["auth_time"] = old })
	if code, _, _ := e.get(loc.String()); code != http.StatusForbidden {
		t.Fatalf("login with an old auth_time = %d, want 403", code)
	}
	e.op.SetIDTokenHook(func(claims, _ map[string]any) { claims["auth_time"] = clk.Now().Unix() })
	if code, _, body := e.get("/fresh/x"); code != http.StatusOK || body != "fresh page" {
		t.Fatalf("after re-authentication: %d %q", code, body)
	}
}
