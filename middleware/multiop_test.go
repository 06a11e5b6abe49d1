package middleware_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// TestTwoOPsOneApp (issue 12 §2): one application signs in through two
// OPs with two Auths on one mux (distinct paths and cookies) sharing one
// store; a back-channel logout from one OP ends only its session, and a
// logout token for one OP signed with the other OP's key is refused.
func TestTwoOPsOneApp(t *testing.T) {
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	store := memstore.New(memstore.Config{})
	used := memstore.NewSingleUse(memstore.SingleUseConfig{})
	ops := map[string]*testop.OP{}
	auths := map[string]*middleware.Auth{}
	for _, name := range []string{"a", "b"} {
		op := testop.NewServer(t, testop.Config{})
		base := app.URL + "/" + name
		if err := op.AddClient(testop.Client{ID: "app-" + name, Secret: "s",
			RedirectURIs: []string{base + "/callback"}, BackChannelLogoutURI: base + "/backchannel-logout"}); err != nil {
			t.Fatal(err)
		}
		client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "app-" + name, ClientSecret: "s",
			RedirectURL: base + "/callback"})
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + name
		auth, err := middleware.New(middleware.Config{
			Client: client, Store: store, SingleUse: used, CookieName: "slo_" + name,
			LoginPath: p + "/login", LogoutPath: p + "/logout", MetadataPath: p + "/.well-known/oidc-client",
			BackChannelPath: p + "/backchannel-logout", FrontChannelPath: p + "/frontchannel-logout",
			SessionCheckPath: p + "/session-check", Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		auth.Register(mux) // no pattern conflicts
		ops[name], auths[name] = op, auth
	}
	for name, auth := range auths {
		mux.Handle("GET /"+name+"/me", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.SessionFromContext(r.Context())
			fmt.Fprintf(w, "%s %s", s.Issuer, s.Subject)
		})))
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: browserTransport{}}
	me := func(name string) string {
		resp, err := browser.Get(app.URL + "/" + name + "/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for name, op := range ops {
		if got := me(name); got != op.Issuer()+" alice" {
			t.Fatalf("signed in through %s: %q", name, got)
		}
	}

	// OP a ends its session: only a's session ends.
	ds := ops["a"].EndSession(t.Context(), "alice")
	if len(ds) != 1 || ds[0].Status != http.StatusOK {
		t.Fatalf("deliveries %+v", ds)
	}
	noRedirect := &http.Client{Jar: jar, Transport: browserTransport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(app.URL + "/a/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/a/login") {
		t.Fatalf("a after its OP's logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := me("b"); got != ops["b"].Issuer()+" alice" {
		t.Fatalf("b after a's logout: %q", got)
	}

	// A token naming b's issuer but signed by a's key is refused at b.
	sid := ops["b"].SessionSIDs("alice")[0]
	claims := ops["b"].LogoutClaims("app-b", "alice", sid)
	forged := ops["a"].SignLogoutToken(claims)
	resp, err = http.PostForm(app.URL+"/b/backchannel-logout", url.Values{"logout_token": {forged}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token for b signed by a = %d, want 400", resp.StatusCode)
	}
	if got := me("b"); got != ops["b"].Issuer()+" alice" {
		t.Fatalf("b after a forged token: %q", got)
	}
}
