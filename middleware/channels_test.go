package middleware_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/sessionstore"
)

// TestRegisterMountsLogoutChannels checks that the back- and front-channel
// endpoints Register mounts end the sessions the OP names, and nothing else.
func TestRegisterMountsLogoutChannels(t *testing.T) {
	t.Run("back-channel", func(t *testing.T) {
		e := newEnv(t, envOptions{backChannel: true})
		e.login()
		id := e.sessionID()
		sids := e.op.SessionSIDs("alice")
		if len(sids) != 1 {
			t.Fatalf("OP sids = %v", sids)
		}
		// The user logs out at the OP elsewhere: the OP posts a logout
		// token to the app's backchannel_logout_uri.
		ds := e.op.EndSession(t.Context(), sids[0])
		if len(ds) != 1 || ds[0].Status != http.StatusOK || ds[0].Err != nil {
			t.Fatalf("deliveries = %+v, want one 200", ds)
		}
		if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Fatalf("session after back-channel logout: %v", err)
		}
		evs := e.logoutEvents()
		if len(evs) != 1 || evs[0].Channel != logout.ChannelBackChannel || evs[0].Ended != 1 || evs[0].SID != sids[0] {
			t.Fatalf("events = %+v", evs)
		}
		code, _, _ := e.get("/backchannel-logout")
		if code != http.StatusMethodNotAllowed {
			t.Fatalf("GET back-channel = %d, want 405", code)
		}
	})
	t.Run("front-channel", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.login()
		id := e.sessionID()
		sid := e.op.SessionSIDs("alice")[0]
		q := url.Values{"iss": {e.op.Issuer()}, "sid": {"not-" + sid}}
		if code, _, _ := e.get("/frontchannel-logout?" + q.Encode()); code != http.StatusBadRequest && code != http.StatusOK {
			t.Fatalf("front-channel with a wrong sid = %d", code)
		}
		if _, err := e.store.Get(t.Context(), id); err != nil {
			t.Fatalf("a wrong sid ended the session: %v", err)
		}
		q.Set("sid", sid)
		// The OP's iframe is cross-site: the request carries no cookie.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.app.URL+"/frontchannel-logout?"+q.Encode(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") == "" {
			t.Fatalf("front-channel = %d %v", resp.StatusCode, resp.Header)
		}
		if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Fatalf("session after front-channel logout: %v", err)
		}
	})
}

// TestFrontChannelRefusesDriveByLogout: by default the front-channel
// endpoint needs iss and sid, as the registration asks of the OP, so a
// top-level cross-site GET that carries the Lax session cookie ends nothing.
func TestFrontChannelRefusesDriveByLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	if !e.m.Registration().FrontChannelLogoutSessionRequired {
		t.Fatal("registration does not require iss and sid on the front channel")
	}
	e.login()
	id := e.sessionID()
	hdr := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Sec-Fetch-Dest": {"document"}}
	if code, _, _ := e.do(http.MethodGet, "/frontchannel-logout", nil, hdr); code != http.StatusBadRequest {
		t.Fatalf("cookie-only front-channel request = %d, want 400", code)
	}
	if _, err := e.store.Get(t.Context(), id); err != nil {
		t.Fatalf("a drive-by request ended the session: %v", err)
	}

	// With FrontChannelCookieLogout the cookie path is open, but only to
	// framed requests.
	e = newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.FrontChannelCookieLogout = true }})
	if e.m.Registration().FrontChannelLogoutSessionRequired {
		t.Fatal("registration requires iss and sid although cookie logout is on")
	}
	e.login()
	id = e.sessionID()
	if code, _, _ := e.do(http.MethodGet, "/frontchannel-logout", nil, hdr); code != http.StatusBadRequest {
		t.Fatalf("top-level cookie-only request = %d, want 400", code)
	}
	if _, err := e.store.Get(t.Context(), id); err != nil {
		t.Fatalf("a top-level request ended the session: %v", err)
	}
	hdr.Set("Sec-Fetch-Dest", "iframe")
	if code, _, _ := e.do(http.MethodGet, "/frontchannel-logout", nil, hdr); code != http.StatusOK {
		t.Fatalf("framed cookie-only request = %d, want 200", code)
	}
	if _, err := e.store.Get(t.Context(), id); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("a framed cookie-only request left the session: %v", err)
	}
}
