package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// userinfoOP stands between the client and the test OP: it counts
// UserInfo requests and answers them with body when set, and drops the
// userinfo_endpoint from discovery when noEndpoint is set.
type userinfoOP struct {
	requests   atomic.Int32
	body       string
	noEndpoint bool
}

func (u *userinfoOP) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, testop.PathUserinfo) {
		u.requests.Add(1)
		if u.body != "" {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(u.body)), Request: r}, nil
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !u.noEndpoint || !strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		return resp, err
	}
	var meta map[string]any
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	delete(meta, "userinfo_endpoint")
	b, _ := json.Marshal(meta)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestUserinfo: with Config.Userinfo a login fetches the UserInfo claims
// once and keeps them beside the ID token's: UserInfo's value wins for a
// profile claim, the ID token's for iss, sub, aud, auth_time and the other
// claims about the token; the OnLogin hook sees them. Without it, no
// UserInfo request is made.
func TestUserinfo(t *testing.T) {
	ui := &userinfoOP{body: `{"sub":"alice","name":"Alice from UserInfo","phone_number":"+1 555 0100",` +
		`"iss":"https://evil.example","aud":"evil","auth_time":1,"acr":"evil"}`}
	var hookSaw string
	e := newEnv(t, envOptions{
		rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: ui} },
		mwConfig: func(c *middleware.Config) {
			c.Userinfo = true
			c.OnLogin = func(_ *http.Request, s *sessionstore.Session, _ *rp.Result) error {
				hookSaw = s.Profile().Name
				return nil
			}
		},
	})
	e.op.SetIDTokenHook(profileHook(map[string]any{"acr": "urn:mfa"}))
	e.login()
	if n := ui.requests.Load(); n != 1 {
		t.Fatalf("%d UserInfo requests at login, want 1", n)
	}
	var c struct {
		Iss      string `json:"iss"`
		Aud      any    `json:"aud"`
		AuthTime int64  `json:"auth_time"`
		ACR      string `json:"acr"`
	}
	s := e.session()
	if err := s.Claims(&c); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := s.Claims(&m); err != nil {
		t.Fatal(err)
	}
	if m["name"] != "Alice from UserInfo" || m["phone_number"] != "+1 555 0100" || m["email"] != "alice@example.com" {
		t.Errorf("claims %v: want UserInfo's name and phone_number and the ID token's email", m)
	}
	if c.Iss != e.op.Issuer() || c.Aud != "app" || c.AuthTime <= 1 || c.ACR != "urn:mfa" {
		t.Errorf("claims about the token taken from UserInfo: iss %q, aud %v, auth_time %d, acr %q", c.Iss, c.Aud, c.AuthTime, c.ACR)
	}
	if hookSaw != "Alice from UserInfo" {
		t.Errorf("OnLogin saw name %q", hookSaw)
	}
	// Requests with the session do not fetch UserInfo again.
	e.get("/")
	if n := ui.requests.Load(); n != 1 {
		t.Errorf("%d UserInfo requests after a request with the session, want 1", n)
	}

	t.Run("off", func(t *testing.T) {
		ui := &userinfoOP{}
		e := newEnv(t, envOptions{rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: ui} }})
		e.login()
		if n := ui.requests.Load(); n != 0 {
			t.Errorf("%d UserInfo requests without Config.Userinfo", n)
		}
	})
}

// TestUserinfoRefused: a UserInfo response for another subject (Core
// 5.3.2) refuses the login with 502, and nothing is stored; an OP without
// a userinfo_endpoint is refused by New.
func TestUserinfoRefused(t *testing.T) {
	ui := &userinfoOP{body: `{"sub":"mallory","name":"Mallory"}`}
	e := newEnv(t, envOptions{
		rpConfig: func(c *rp.Config) { c.HTTPClient = &http.Client{Transport: ui} },
		mwConfig: func(c *middleware.Config) { c.Userinfo = true },
	})
	cb := e.authorize(e.startLogin())
	resp, body := e.fetchPage(cb.RequestURI(), nil)
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(body, "mallory") {
		t.Fatalf("login with another subject's UserInfo = %d %q", resp.StatusCode, body)
	}
	e.noSessionCreated()
	if !strings.Contains(e.logs(), "sub is not the ID token") {
		t.Errorf("the reason was not logged: %s", e.logs())
	}

	ui = &userinfoOP{noEndpoint: true}
	client, err := rp.New(t.Context(), rp.Config{
		Issuer: e.op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
		RedirectURL: e.app.URL + "/callback", HTTPClient: &http.Client{Transport: ui},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.New(middleware.Config{Client: client, Userinfo: true}); err == nil || !strings.Contains(err.Error(), "userinfo_endpoint") {
		t.Errorf("New with Userinfo and an OP without the endpoint: %v", err)
	}
	if _, err := middleware.New(middleware.Config{Client: client}); err != nil {
		t.Errorf("New without Userinfo: %v", err)
	}
}
