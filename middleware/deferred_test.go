package middleware_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
)

// TestStartWithoutOP (issue 12 §5): the application starts while its OP
// does not answer. Until the OP answers, a login gets 503 with Retry-After
// and a back-channel logout token 400 (the OP retries); once it answers,
// discovery happens on demand and logins and logouts work.
func TestStartWithoutOP(t *testing.T) {
	// The OP's address answers 503 until the OP is switched in.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	var opHandler atomic.Pointer[http.Handler]
	down := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	opHandler.Store(&down)
	opSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*opHandler.Load()).ServeHTTP(w, r)
	}))
	opSrv.Listener.Close()
	opSrv.Listener = ln
	opSrv.Start()
	t.Cleanup(opSrv.Close)

	clk := &clock{now: time.Now()}
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	client, err := rp.New(t.Context(), rp.Config{Issuer: issuer, ClientID: "app", ClientSecret: "secret",
		RedirectURL: app.URL + "/callback", DeferDiscovery: true, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("rp.New with the OP down and DeferDiscovery: %v", err)
	}
	auth, err := middleware.New(middleware.Config{Client: client, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	auth.Register(mux)
	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		io.WriteString(w, "hello "+s.Subject)
	})))

	op, err := testop.New(testop.Config{Issuer: issuer, Now: clk.Now, Clients: []testop.Client{{ID: "app", Secret: "secret",
		RedirectURIs: []string{app.URL + "/callback"}, BackChannelLogoutURI: app.URL + "/backchannel-logout"}}})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: browserTransport{}}
	noRedirect := &http.Client{Jar: jar, Transport: browserTransport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noRedirect.Get(app.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "temporarily unavailable") {
		t.Fatalf("login with the OP down = %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	token := op.SignLogoutToken(op.LogoutClaims("app", "alice", "sid-1"))
	resp, err = http.PostForm(app.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("back-channel logout with the OP down = %d, want 400", resp.StatusCode)
	}

	// The OP comes up; after the back-off the next request discovers it.
	var h http.Handler = op
	opHandler.Store(&h)
	clk.Advance(2 * time.Minute)
	resp, err = browser.Get(app.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello alice" {
		t.Fatalf("login once the OP is up = %d %q", resp.StatusCode, body)
	}
	sid := op.SessionSIDs("alice")[0]
	token = op.SignLogoutToken(op.LogoutClaims("app", "alice", sid))
	resp, err = http.PostForm(app.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout once the OP is up = %d, want 200", resp.StatusCode)
	}
	resp, err = noRedirect.Get(app.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the logout = %d, want a redirect to login", resp.StatusCode)
	}
}
