package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/redistest"
	"github.com/oidc-slo/slo/rp/rptest"
)

// TestRedisOutage stops the Redis server under a running replica and starts
// it again on the same port (empty: no persistence). While it is down,
// requests fail closed, back-channel logouts are refused and sign-out still
// clears the cookie and goes on to the OP, each with an Error log; once it
// is back, the same replica, middleware and Redis client work again.
func TestRedisOutage(t *testing.T) {
	ctx := t.Context()
	srv := redistest.Start(t)
	op := startOP(t)
	app := httptest.NewUnstartedServer(nil)
	public := "http://" + app.Listener.Addr().String()
	register(t, op, public)

	// No retries and short timeouts: after the restart the very first
	// command must succeed on its own.
	b, err := openBackend(ctx, "redis://"+srv.Addr()+"/0?max_retries=-1&dial_timeout=1s&read_timeout=1s&write_timeout=1s", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	logs := newLogRecorder()
	r, err := newReplica(ctx, appConfig{
		Name: "r", Issuer: op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
		PublicURL: public, Key: randomKey(), Store: b.Store, SingleUse: b.SingleUse,
		Logger: slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = r
	app.Start()
	t.Cleanup(app.Close)

	browser := rptest.NewBrowser()
	direct := noRedirect(browser)
	// request sends method path with the browser's cookies, without
	// following redirects.
	request := func(method, path string, form url.Values) *http.Response {
		t.Helper()
		var body *strings.Reader
		if form == nil {
			body = strings.NewReader("")
		} else {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequestWithContext(ctx, method, public+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := direct.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (a panic would drop the connection)", method, path, err)
		}
		resp.Body.Close()
		return resp
	}
	login := func() status {
		t.Helper()
		code, final, body := get(t, browser, public+"/private")
		if code != http.StatusOK || !strings.HasSuffix(final, "/private") || !strings.Contains(body, "Logged in as <b>alice</b>") {
			t.Fatalf("login: %d %s %q", code, final, body)
		}
		st := whoami(t, browser, public+"/whoami")
		if !st.LoggedIn || st.SID == "" {
			t.Fatalf("after login: %+v", st)
		}
		return st
	}
	st := login()

	srv.Stop()
	logs.take()

	t.Run("RequireLogin fails closed with 503", func(t *testing.T) {
		resp := request("GET", "/private", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Errorf("GET /private with Redis down: %d Location %q, want 503 without redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !hasError(logs.take(), "loading session failed") {
			t.Error("no Error log for the store failure")
		}
	})
	t.Run("LoadSession continues anonymous", func(t *testing.T) {
		if got := whoami(t, browser, public+"/whoami"); got.LoggedIn {
			t.Errorf("whoami with Redis down: %+v, want not logged in", got)
		}
		if !hasError(logs.take(), "loading session failed") {
			t.Error("no Error log for the store failure")
		}
	})
	t.Run("back-channel logout answers 400 with an Error log", func(t *testing.T) {
		tok := op.LogoutToken("app", "alice", st.SID)
		resp := request("POST", "/backchannel-logout", url.Values{"logout_token": {tok}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("back-channel logout with Redis down: %d, want 400", resp.StatusCode)
		}
		if !hasError(logs.take(), "back-channel logout failed") {
			t.Error("no Error log for the failed back-channel logout")
		}
	})
	t.Run("sign-out clears the cookie and goes on to the OP, with an Error log", func(t *testing.T) {
		resp := request("POST", "/logout", url.Values{})
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, op.Issuer()+"/") ||
			!strings.Contains(loc, "client_id=app") || !strings.Contains(loc, "post_logout_redirect_uri=") {
			t.Errorf("POST /logout with Redis down: %d Location %q, want 303 to the OP's end-session endpoint", resp.StatusCode, loc)
		}
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || c.Name == "slo" && c.MaxAge < 0
		}
		if !cleared {
			t.Errorf("POST /logout with Redis down did not clear the session cookie: %q", resp.Header.Values("Set-Cookie"))
		}
		if !hasError(logs.take(), "sign-out: the session store failed") {
			t.Error("no Error log for the store failure at sign-out")
		}
	})
	t.Run("login fails closed", func(t *testing.T) {
		code, final, _ := get(t, browser, public+"/login?return_to=/whoami")
		if code == http.StatusOK || strings.HasSuffix(final, "/whoami") {
			t.Errorf("login with Redis down ended at %d %s, want a refusal", code, final)
		}
		if !hasError(logs.take(), "single-use check failed") {
			t.Error("no Error log for the refused login")
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	srv.Restart() // same port, no data
	logs.take()

	// The session was in the old server's memory only: the same cookie is
	// now simply not logged in (a redirect to the login, not a 503).
	resp := request("GET", "/private", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("GET /private after the restart: %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	st = login()
	ds := op.EndSession(ctx, st.SID).BackChannel
	if len(ds) != 1 || ds[0].Status != http.StatusOK || ds[0].Err != nil {
		t.Fatalf("back-channel logout after the restart: %+v", ds)
	}
	if got := whoami(t, browser, public+"/whoami"); got.LoggedIn {
		t.Fatalf("after the back-channel logout: %+v", got)
	}
	resp = request("GET", "/private", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /private after the logout: %d, want 303", resp.StatusCode)
	}
	for _, rec := range logs.take() {
		if rec.Level >= slog.LevelError {
			t.Errorf("Error log after the restart: %s", rec.Message)
		}
	}
}
