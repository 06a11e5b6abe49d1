package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
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
		if code, _, _ := e.get("/frontchannel-logout?" + q.Encode()); code != http.StatusOK {
			t.Fatalf("front-channel with a wrong sid = %d, want the 200 no-op (it cannot be told from an ended session)", code)
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

	// With FrontChannel.AllowCookieLogout the cookie path is open, but only to
	// framed requests.
	e = newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.FrontChannel.AllowCookieLogout = true }})
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

// logoutDuringLogin is a store in which the OP ends the OP session of the
// first session the app creates just before the store writes it: the
// back-channel logout comes while the login is between its code exchange
// and its session.
type logoutDuringLogin struct {
	sessionstore.Store
	op   *testop.OP
	once sync.Once
	sid  string
	ds   []testop.Delivery
}

func (s *logoutDuringLogin) Create(ctx context.Context, in *sessionstore.Session) error {
	if in.Issuer == s.op.Issuer() && in.SID != "" {
		s.once.Do(func() { s.sid, s.ds = in.SID, s.op.EndSession(ctx, in.SID) })
	}
	return s.Store.Create(ctx, in)
}

func TestLogoutDuringLoginIsNotUndone(t *testing.T) {
	store := &logoutDuringLogin{Store: memstore.New(memstore.Config{})}
	e := newEnv(t, envOptions{store: store, backChannel: true})
	store.op = e.op
	cb := e.authorize(e.startLogin())
	resp, err := e.noRedirect().Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(store.ds) != 1 || store.ds[0].Status != http.StatusOK {
		t.Fatalf("back-channel deliveries during the login = %+v, want one 200", store.ds)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "signed out") {
		t.Fatalf("callback after the OP session ended = %d %q, want the signed-out page", resp.StatusCode, body)
	}
	e.noSessionCreated()
	if ended, err := e.store.DeleteBySID(t.Context(), e.op.Issuer(), store.sid); err != nil || len(ended) != 0 {
		t.Fatalf("sessions left for the ended OP session: %d, %v", len(ended), err)
	}
}

// TestLoginAfterClientLogoutStands: an OP may end this client's sessions of
// an OP session (a back-channel logout) and keep the OP session, so the user
// signs in again with the same sid. That login started after the logout and
// must not be refused.
func TestLoginAfterClientLogoutStands(t *testing.T) {
	// The app's clock runs 5 s behind the OP's, so the marker of the
	// logout is older than any ID token issued afterwards even within one
	// second.
	clk := &clock{now: time.Now().Add(-5 * time.Second)}
	e := newEnv(t, envOptions{mwConfig: func(c *middleware.Config) { c.Now = clk.Now }})
	e.login()
	sid := e.op.SessionSIDs("alice")[0]
	token := e.op.SignLogoutToken(e.op.LogoutClaims("app", "alice", sid))
	resp, err := http.PostForm(e.app.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout = %d", resp.StatusCode)
	}
	if code, _, body := e.get("/"); body != "anonymous" {
		t.Fatalf("after the logout: %d %q", code, body)
	}
	// The OP session lives on: the next login gets the same sid.
	e.login()
	if got := e.op.SessionSIDs("alice"); len(got) != 1 || got[0] != sid {
		t.Fatalf("OP sids = %v, want the same %q", got, sid)
	}
	s, err := e.store.Get(t.Context(), e.sessionID())
	if err != nil || s.SID != sid {
		t.Fatalf("new session = %+v, %v", s, err)
	}
}
