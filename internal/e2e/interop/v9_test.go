package interop_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
)

// startV9 starts apps and an oidc-provider 9.x that knows them.
func startV9(t *testing.T, names ...string) (*oidcprovider.Provider, []*app) {
	t.Helper()
	apps := make([]*app, len(names))
	clients := make([]oidcprovider.Client, len(names))
	for i, n := range names {
		apps[i] = newApp(t, n, appOptions{})
		clients[i] = apps[i].registration()
	}
	op := oidcprovider.Start(t, oidcprovider.Options{Version: oidcprovider.V9, Clients: clients})
	for _, a := range apps {
		a.start(t, op)
	}
	return op, apps
}

// rpLogin runs the code flow with rp alone (no middleware).
func rpLogin(t *testing.T, c *rp.Client, ua *oidcprovider.UserAgent, opts ...rp.AuthOption) (*rp.Result, error) {
	t.Helper()
	authURL, st, err := c.Login(opts...)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Errorf("authorization request without PKCE S256: %s", u.RawQuery)
	}
	params, err := ua.Authorize(t.Context(), authURL, c.Config().RedirectURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return c.Callback(t.Context(), params, st)
}

func TestV9Login(t *testing.T) {
	op, apps := startV9(t, "app1")
	c := apps[0].client

	md := c.Metadata()
	if !md.BackChannelLogoutSupported || !md.BackChannelLogoutSessionSupported || md.EndSessionEndpoint == "" {
		t.Errorf("discovery: backchannel %v/%v, end_session %q", md.BackChannelLogoutSupported, md.BackChannelLogoutSessionSupported, md.EndSessionEndpoint)
	}
	ua := oidcprovider.NewUserAgent()
	res, err := rpLogin(t, c, ua)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if res.Issuer != op.Issuer() || res.Subject != "alice" || res.SID == "" || res.RawIDToken == "" {
		t.Errorf("Result: iss %q sub %q sid %q", res.Issuer, res.Subject, res.SID)
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err := res.IDToken.Claims(&claims); err != nil || claims.SID != res.SID {
		t.Errorf("ID token sid = %q (%v), Result.SID %q", claims.SID, err, res.SID)
	}

	// And through the middleware: the session is indexed by the OP's sid.
	s := apps[0].login(t, oidcprovider.NewUserAgent())
	if s.Issuer != op.Issuer() || s.Subject != "alice" || s.SID == "" || s.Data.IDToken == "" {
		t.Errorf("session: iss %q sub %q sid %q", s.Issuer, s.Subject, s.SID)
	}
}

func TestV9RPInitiatedLogout(t *testing.T) {
	t.Run("rp", func(t *testing.T) {
		op, apps := startV9(t, "app1")
		c := apps[0].client
		ua := oidcprovider.NewUserAgent()
		res, err := rpLogin(t, c, ua)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		endURL, err := c.EndSessionURL(rp.LogoutParams{
			IDTokenHint:           res.RawIDToken,
			PostLogoutRedirectURL: apps[0].url("/logged-out"),
			State:                 "logout-state",
		})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ua.Authorize(t.Context(), endURL, apps[0].url("/logged-out"))
		if err != nil {
			t.Fatalf("end session: %v", err)
		}
		if back.Get("state") != "logout-state" {
			t.Errorf("post-logout return = %v, want state logout-state", back)
		}
		waitOP(t, op, "end_session.success", oidcprovider.Named("end_session.success", ""))

		_, err = rpLogin(t, c, ua, rp.Prompt("none"))
		var ae *rp.AuthError
		if !errors.As(err, &ae) || ae.Code != "login_required" {
			t.Errorf("prompt=none after logout: %v, want AuthError login_required", err)
		}
	})

	t.Run("middleware", func(t *testing.T) {
		op, apps := startV9(t, "app1")
		a := apps[0]
		ua := oidcprovider.NewUserAgent()
		s := a.login(t, ua)

		page, err := ua.PostForm(t.Context(), a.url("/logout"), url.Values{"return_to": {"/after"}})
		if err != nil {
			t.Fatalf("sign-out: %v", err)
		}
		// /after is reached only through a post-logout return whose state
		// the middleware accepted; otherwise it shows its signed-out page.
		if page.Status != http.StatusOK || page.URL.Path != "/after" || page.Body != "signed out" {
			t.Errorf("sign-out ended at %s (%d): %q", page.URL, page.Status, page.Body)
		}
		if _, err := a.session(t.Context(), ua); err == nil {
			t.Error("session still present after sign-out")
		}
		if evs := a.logoutEvents(logout.ChannelRPInitiated); len(evs) != 1 || evs[0].SID != s.SID || evs[0].Ended != 1 {
			t.Errorf("RP-initiated events = %+v", evs)
		}
		waitOP(t, op, "end_session.success", oidcprovider.Named("end_session.success", ""))

		// The OP session is gone.
		_, err = rpLogin(t, a.client, ua, rp.Prompt("none"))
		var ae *rp.AuthError
		if !errors.As(err, &ae) || ae.Code != "login_required" {
			t.Errorf("prompt=none after logout: %v, want AuthError login_required", err)
		}
	})
}

func TestV9BackChannelTwoApps(t *testing.T) {
	op, apps := startV9(t, "app1", "app2")
	ua := oidcprovider.NewUserAgent()
	s1 := apps[0].login(t, ua)
	s2 := apps[1].login(t, ua)
	if s1.SID == "" || s2.SID == "" {
		t.Fatalf("sessions without sid: %q, %q", s1.SID, s2.SID)
	}

	// Logout at the OP without id_token_hint: the prompt answers "yes, end
	// the OP session", so the OP notifies every client of it.
	page, err := ua.Get(t.Context(), apps[0].client.Metadata().EndSessionEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Signed out at the OP") {
		t.Errorf("OP logout ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
	for i, a := range apps {
		sid := []string{s1.SID, s2.SID}[i]
		ev := waitOP(t, op, "backchannel.success "+a.name, func(ev oidcprovider.Event) bool {
			return (ev.Name == "backchannel.success" || ev.Name == "backchannel.error") && ev.ClientID == a.name
		})
		if ev.Name != "backchannel.success" || ev.SID != sid {
			t.Errorf("%s: OP recorded %+v, want backchannel.success for sid %s", a.name, ev, sid)
		}
		if _, err := a.session(t.Context(), ua); err == nil {
			t.Errorf("%s: session still present after back-channel logout", a.name)
		}
		if evs := a.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Err != nil || evs[0].Ended != 1 || evs[0].SID != sid {
			t.Errorf("%s: back-channel events = %+v", a.name, evs)
		}
	}
}

func TestV9LogoutFromOtherApp(t *testing.T) {
	op, apps := startV9(t, "app1", "app2")
	this, other := apps[0], apps[1]
	ua := oidcprovider.NewUserAgent()
	s := this.login(t, ua)
	other.login(t, ua)

	// The user signs out of the other app, which sends them to the OP.
	if _, err := ua.PostForm(t.Context(), other.url("/logout"), nil); err != nil {
		t.Fatalf("sign-out of %s: %v", other.name, err)
	}
	ev := waitOP(t, op, "back-channel to "+this.name, func(ev oidcprovider.Event) bool {
		return (ev.Name == "backchannel.success" || ev.Name == "backchannel.error") && ev.ClientID == this.name
	})
	if ev.Name != "backchannel.success" {
		t.Fatalf("OP recorded %+v", ev)
	}
	if _, err := this.session(t.Context(), ua); err == nil {
		t.Errorf("%s: session still present", this.name)
	}
	if evs := this.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].SID != s.SID || evs[0].Ended != 1 {
		t.Errorf("%s: back-channel events = %+v", this.name, evs)
	}
	// The page of this app now shows the user signed out.
	page, err := ua.Get(t.Context(), this.url("/"))
	if err != nil || page.Body != "signed out" {
		t.Errorf("%s home after logout elsewhere: %v %q", this.name, err, page.Body)
	}
}
