package middleware_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
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
	ops := map[string]*rptest.Server{}
	auths := map[string]*middleware.Auth{}
	for _, name := range []string{"a", "b"} {
		op := rptest.NewServer(rptest.Options{})
		t.Cleanup(op.Close)
		base := app.URL + "/" + name
		if err := op.Register(rptest.Client{ClientID: "app-" + name, ClientSecret: "s",
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
	browser := rptest.NewBrowser()
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
	lo := ops["a"].EndSession(t.Context(), "alice")
	if ds := lo.BackChannel; len(ds) != 1 || ds[0].ClientID != "app-a" || ds[0].Status != http.StatusOK {
		t.Fatalf("deliveries %+v", ds)
	}
	noRedirect := *browser
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
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

	// A token naming b's issuer but signed by a's key is refused at b: a
	// mints b's claims (its own iss replaced by b's) with its key.
	sids := ops["b"].SIDs("alice")
	if len(sids) != 1 {
		t.Fatalf("b's OP sessions of alice: %v", sids)
	}
	forged := ops["a"].LogoutToken("app-b", "alice", sids[0], rptest.WithClaim("iss", ops["b"].Issuer()))
	if d := ops["b"].SendLogoutToken(t.Context(), "app-b", forged); d.Err != nil || d.Status != http.StatusBadRequest {
		t.Fatalf("token for b signed by a = %d (%v), want 400", d.Status, d.Err)
	}
	if got := me("b"); got != ops["b"].Issuer()+" alice" {
		t.Fatalf("b after a forged token: %q", got)
	}
	// The same claims signed by b itself end b's session: the refusal
	// above was the key's.
	genuine := ops["b"].LogoutToken("app-b", "alice", sids[0])
	if d := ops["b"].SendLogoutToken(t.Context(), "app-b", genuine); d.Err != nil || d.Status != http.StatusOK {
		t.Fatalf("token for b signed by b = %d (%v), want 200", d.Status, d.Err)
	}
}
