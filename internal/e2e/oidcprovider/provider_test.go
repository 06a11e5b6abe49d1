package oidcprovider_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/e2e/e2etest"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
)

// The redirect URI is never requested: Authorize stops at it.
const redirectURL = "http://127.0.0.1:1/callback"

func discovery(t *testing.T, issuer string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// token redeems code at the token endpoint and returns the ID token's claims.
func token(t *testing.T, endpoint, code, clientID, secret string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURL}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: status %d, error %q", resp.StatusCode, body.Error)
	}
	_, claims := e2etest.DecodeJWT(t, body.IDToken)
	return claims
}

func TestStartLoginLogout(t *testing.T) {
	for _, tc := range []struct {
		version          oidcprovider.Version
		checkSession     bool
		frontChannelSess bool
		logoutTyp        string
		logoutExp        bool
	}{
		{version: oidcprovider.V9, logoutTyp: "logout+jwt", logoutExp: true},
		{version: oidcprovider.V6, checkSession: true, frontChannelSess: true, logoutTyp: "JWT", logoutExp: false},
	} {
		t.Run(string(tc.version), func(t *testing.T) {
			tokens := make(chan string, 1)
			bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err == nil {
					select {
					case tokens <- r.PostForm.Get("logout_token"):
					default:
					}
				}
			}))
			defer bc.Close()
			op := oidcprovider.Start(t, oidcprovider.Options{
				Version: tc.version,
				Account: "bob",
				Clients: []oidcprovider.Client{{
					ID:                               "app",
					Secret:                           "app-secret",
					RedirectURIs:                     []string{redirectURL},
					PostLogoutRedirectURIs:           []string{"http://127.0.0.1:1/logged-out"},
					BackChannelLogoutURI:             bc.URL + "/backchannel-logout",
					BackChannelLogoutSessionRequired: true,
				}},
			})
			if !strings.HasPrefix(op.Issuer(), "http://127.0.0.1:") {
				t.Fatalf("Issuer() = %q", op.Issuer())
			}
			d := discovery(t, op.Issuer())
			if d["issuer"] != op.Issuer() || d["backchannel_logout_session_supported"] != true {
				t.Errorf("discovery: issuer %v, backchannel_logout_session_supported %v", d["issuer"], d["backchannel_logout_session_supported"])
			}
			claims, _ := d["claims_supported"].([]any)
			if !slices.Contains(claims, any("sid")) {
				t.Errorf("claims_supported = %v, want sid", claims)
			}
			if _, ok := d["check_session_iframe"]; ok != tc.checkSession {
				t.Errorf("check_session_iframe present = %v, want %v", ok, tc.checkSession)
			}
			if got := d["frontchannel_logout_session_supported"] == true; got != tc.frontChannelSess {
				t.Errorf("frontchannel_logout_session_supported = %v, want %v", got, tc.frontChannelSess)
			}

			ua := oidcprovider.NewUserAgent()
			auth := d["authorization_endpoint"].(string) + "?" + url.Values{
				"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid"},
				"redirect_uri": {redirectURL}, "state": {"st"}, "nonce": {"no"},
			}.Encode()
			params, err := ua.Authorize(t.Context(), auth, redirectURL)
			if err != nil {
				t.Fatal(err)
			}
			if params.Get("state") != "st" || params.Get("code") == "" {
				t.Fatalf("callback parameters = %v", params)
			}
			idt := token(t, d["token_endpoint"].(string), params.Get("code"), "app", "app-secret")
			if idt["sub"] != "bob" || idt["sid"] == nil || idt["sid"] == "" || idt["nonce"] != "no" {
				t.Errorf("ID token claims = %v, want sub bob, a sid, nonce no", idt)
			}

			// Logout at the OP through its self-submitting prompt: the OP
			// calls the back-channel URI on loopback and reports success.
			logout := d["end_session_endpoint"].(string) + "?" + url.Values{"client_id": {"app"}}.Encode()
			page, err := ua.Get(t.Context(), logout)
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Signed out at the OP") {
				t.Errorf("logout ended at %s (%d): %s", page.URL, page.Status, page.Body)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			ev, err := op.WaitEvent(ctx, oidcprovider.Named("backchannel.success", "app"))
			if err != nil {
				t.Fatal(err)
			}
			if ev.SID != idt["sid"] || ev.Account != "bob" {
				t.Errorf("backchannel.success event = %+v, want sid %v account bob", ev, idt["sid"])
			}
			header, payload := e2etest.DecodeJWT(t, <-tokens)
			if header["typ"] != tc.logoutTyp {
				t.Errorf("logout token typ = %v, want %s", header["typ"], tc.logoutTyp)
			}
			if _, ok := payload["exp"]; ok != tc.logoutExp {
				t.Errorf("logout token has exp = %v, want %v", ok, tc.logoutExp)
			}
			if payload["sid"] != idt["sid"] || payload["sub"] != "bob" || payload["events"] == nil {
				t.Errorf("logout token claims = %v", payload)
			}

			// The OP session is gone: prompt=none now fails.
			params, err = ua.Authorize(t.Context(), auth+"&prompt=none", redirectURL)
			if err != nil {
				t.Fatal(err)
			}
			if params.Get("error") != "login_required" {
				t.Errorf("prompt=none after logout: %v, want error=login_required", params)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	// Invalid options fail the test before any process starts; run Start in
	// a fake TB that records the failure.
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		oidcprovider.Start(ft, oidcprovider.Options{Version: "v7", Clients: []oidcprovider.Client{{ID: "x"}}})
	}()
	<-done
	if !ft.fatal || !strings.Contains(ft.msg, "unknown Version") || !strings.Contains(ft.msg, "no RedirectURIs") || !strings.Contains(ft.msg, "needs a Secret") {
		t.Errorf("Start with bad options: fatal=%v msg=%q", ft.fatal, ft.msg)
	}
}

func TestWaitEventContext(t *testing.T) {
	op := oidcprovider.Start(t, oidcprovider.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := op.WaitEvent(ctx, oidcprovider.Named("never", ""))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WaitEvent on a cancelled context = %v, want context.Canceled", err)
	}
}

// fatalTB records Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	fatal bool
	msg   string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.fatal = true
	for _, a := range args {
		if e, ok := a.(error); ok {
			f.msg += e.Error()
		}
	}
	runtime.Goexit()
}
