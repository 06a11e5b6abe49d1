package rptest_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidc-slo/slo/rp/rptest"
)

func TestNewServerDiscovery(t *testing.T) {
	tests := []struct {
		name         string
		opts         rptest.Options
		prefix       string
		checkSession bool
		endSession   bool
		needsIPv6    bool
	}{
		{"defaults", rptest.Options{}, "http://127.0.0.1:", true, true, false},
		{"localhost", rptest.Options{Host: "localhost"}, "http://localhost:", true, true, false},
		{"127.0.0.2", rptest.Options{Host: "127.0.0.2"}, "http://127.0.0.2:", true, true, false},
		{"::1", rptest.Options{Host: "::1"}, "http://[::1]:", true, true, true},
		{"no check session", rptest.Options{NoCheckSession: true}, "http://127.0.0.1:", false, true, false},
		{"no end session", rptest.Options{NoEndSession: true}, "http://127.0.0.1:", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsIPv6 {
				ln, err := net.Listen("tcp", "[::1]:0")
				if err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				ln.Close()
			}
			op := newServer(t, tt.opts)
			if !strings.HasPrefix(op.Issuer(), tt.prefix) {
				t.Errorf("Issuer() = %q, want prefix %q", op.Issuer(), tt.prefix)
			}
			d := discovery(t, op)
			if d["issuer"] != op.Issuer() {
				t.Errorf("discovery issuer %v, want %s", d["issuer"], op.Issuer())
			}
			for _, f := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint"} {
				if s, _ := d[f].(string); !strings.HasPrefix(s, op.Issuer()+"/") {
					t.Errorf("%s = %v", f, d[f])
				}
			}
			for _, f := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported",
				"frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
				if d[f] != true {
					t.Errorf("%s = %v", f, d[f])
				}
			}
			if _, ok := d["check_session_iframe"]; ok != tt.checkSession {
				t.Errorf("check_session_iframe present = %v, want %v", ok, tt.checkSession)
			}
			if _, ok := d["end_session_endpoint"]; ok != tt.endSession {
				t.Errorf("end_session_endpoint present = %v, want %v", ok, tt.endSession)
			}
		})
	}
}

// TestNoCheckSessionAuthorizationResponse: without Session Management the
// authorization response carries no session_state.
func TestNoCheckSessionAuthorizationResponse(t *testing.T) {
	for _, no := range []bool{false, true} {
		t.Run(fmt.Sprint("NoCheckSession=", no), func(t *testing.T) {
			op := newServer(t, rptest.Options{NoCheckSession: no})
			const redirect = "http://app.example/cb"
			if err := op.Register(rptest.Client{ClientID: "app", RedirectURIs: []string{redirect}}); err != nil {
				t.Fatal(err)
			}
			b := rptest.NewBrowser()
			b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			q := "?response_type=code&client_id=app&scope=openid&code_challenge_method=S256" +
				"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&redirect_uri=" + redirect
			resp, err := b.Get(discovery(t, op)["authorization_endpoint"].(string) + q)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, redirect+"?") || !strings.Contains(loc, "code=") {
				t.Fatalf("authorization response %s %q", resp.Status, loc)
			}
			if has := strings.Contains(loc, "session_state="); has == no {
				t.Errorf("session_state in %q = %v with NoCheckSession = %v", loc, has, no)
			}
		})
	}
}

func TestNewServerInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts rptest.Options
		want []string
	}{
		{"host not loopback", rptest.Options{Host: "192.0.2.1"}, []string{`Options.Host "192.0.2.1"`}},
		{"host unspecified", rptest.Options{Host: "0.0.0.0"}, []string{`Options.Host "0.0.0.0"`}},
		{"host name", rptest.Options{Host: "example.com"}, []string{`Options.Host "example.com"`}},
		{"every problem at once", rptest.Options{
			Host: "10.0.0.1", IDTokenTTL: -1, AccessTokenTTL: -time.Second, LogoutTokenTTL: -time.Minute,
			Profiles: map[string]map[string]any{"": {"name": "nobody"}},
		}, []string{"Options.Host", "Options.IDTokenTTL", "Options.AccessTokenTTL", "Options.LogoutTokenTTL", "Options.Profiles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				err, ok := r.(error)
				if !ok {
					t.Fatalf("NewServer did not panic with an error: %v", r)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %s", err, w)
					}
				}
				if !strings.HasPrefix(err.Error(), "rptest: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
			}()
			op := rptest.NewServer(tt.opts)
			op.Close()
		})
	}
}

func TestClose(t *testing.T) {
	op := rptest.NewServer(rptest.Options{})
	u := op.Issuer() + "/.well-known/openid-configuration"
	op.Close()
	op.Close() // a second Close does nothing
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("the OP still answers after Close: %s", resp.Status)
	}
}

// TestOptionsClockAndLifetimes: Now, IDTokenTTL, AccessTokenTTL and
// LogoutTokenTTL shape the tokens the OP issues.
func TestOptionsClockAndLifetimes(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	op := newServer(t, rptest.Options{
		Now:        func() time.Time { return now },
		IDTokenTTL: 10 * time.Minute, AccessTokenTTL: 5 * time.Minute, LogoutTokenTTL: 30 * time.Second,
	})
	c := rptest.Client{ClientID: "app", ClientSecret: "s3cret", RedirectURIs: []string{"http://app.example/cb"}}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	tok, err := flow{op: op, client: c, browser: rptest.NewBrowser()}.signIn(t)
	if err != nil {
		t.Fatal(err)
	}
	if ei := tok.Extra("expires_in"); fmt.Sprint(ei) != "300" {
		t.Errorf("expires_in = %v, want 300", ei)
	}
	claims, _ := verify(t, op, tok.Extra("id_token").(string), "")
	if claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(10*time.Minute).Unix()) ||
		claims["auth_time"] != float64(now.Unix()) {
		t.Errorf("ID token times %v %v %v", claims["iat"], claims["exp"], claims["auth_time"])
	}
	lt, _ := verify(t, op, op.LogoutToken("app", "alice", ""), "")
	if lt["iat"] != float64(now.Unix()) || lt["exp"] != float64(now.Add(30*time.Second).Unix()) {
		t.Errorf("logout token times %v %v", lt["iat"], lt["exp"])
	}
}

// TestUsers: Options.User and Options.Profiles, SetUser with and without
// claims; profile claims never replace the OP's own.
func TestUsers(t *testing.T) {
	op := newServer(t, rptest.Options{User: "bob", Profiles: map[string]map[string]any{
		"bob": {"name": "Robert", "sub": "mallory", "iss": "http://127.0.0.1:1"},
	}})
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	signIn := func() map[string]any {
		claims, _ := flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
		return claims
	}
	if got := signIn(); got["sub"] != "bob" || got["name"] != "Robert" || got["iss"] != op.Issuer() {
		t.Errorf("Options.User/Profiles: claims %v", got)
	}
	op.SetUser("alice", nil) // not in Options.Profiles: no claims
	if got := signIn(); got["sub"] != "alice" || got["name"] != nil {
		t.Errorf("SetUser(alice, nil): claims %v", got)
	}
	claims := map[string]any{"name": "Eve", "email": "eve@example.com", "groups": []string{"admin"}}
	op.SetUser("eve", claims)
	claims["name"] = "changed afterwards"
	tok, err := flow{op: op, client: c, browser: rptest.NewBrowser()}.signIn(t)
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := verify(t, op, tok.Extra("id_token").(string), "")
	if idt["sub"] != "eve" || idt["name"] != "Eve" || idt["email"] != "eve@example.com" || fmt.Sprint(idt["groups"]) != "[admin]" {
		t.Errorf("SetUser(eve, claims): claims %v", idt)
	}
	var ui map[string]any
	hc := (&oauth2.Config{}).Client(t.Context(), tok)
	resp, err := hc.Get(discovery(t, op)["userinfo_endpoint"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := jsonDecode(resp, &ui); err != nil || ui["sub"] != "eve" || ui["email"] != "eve@example.com" {
		t.Errorf("userinfo %v, %v", ui, err)
	}
	op.SetUser("eve", nil) // keeps eve's claims
	if got := signIn(); got["name"] != "Eve" {
		t.Errorf("SetUser(eve, nil) after claims: %v", got)
	}

	defer func() {
		if recover() == nil {
			t.Error("SetUser with an empty subject did not panic")
		}
	}()
	op.SetUser("", nil)
}

// TestSIDs: one OP session per browser, sids sorted, and the ID token's
// sid among them; SSO in the same browser keeps the sid.
func TestSIDs(t *testing.T) {
	op := newServer(t, rptest.Options{})
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	if sids := op.SIDs("alice"); len(sids) != 0 {
		t.Fatalf("SIDs before any login: %v", sids)
	}
	b1 := rptest.NewBrowser()
	first, _ := flow{op: op, client: c, browser: b1}.idToken(t)
	again, _ := flow{op: op, client: c, browser: b1}.idToken(t)
	if first["sid"] != again["sid"] {
		t.Errorf("second sign-in in the same browser: sid %v, then %v", first["sid"], again["sid"])
	}
	flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	sids := op.SIDs("alice")
	if len(sids) != 2 || !slices.IsSorted(sids) || !slices.Contains(sids, first["sid"].(string)) {
		t.Errorf("SIDs = %v, first sid %v", sids, first["sid"])
	}
	if other := op.SIDs("bob"); len(other) != 0 {
		t.Errorf("SIDs(bob) = %v", other)
	}
}
