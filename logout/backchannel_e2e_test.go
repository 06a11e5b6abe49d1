package logout_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// e2eApp is one relying party: an rp.Client, its own session store and its
// back-channel endpoint on a real HTTP server.
type e2eApp struct {
	id      string
	srv     *httptest.Server
	handler atomic.Pointer[logout.BackChannelHandler] // set once the OP is known
	client  *rp.Client
	store   *memstore.Store
	events  chan logout.Event
}

func newE2EApp(t *testing.T, id string) *e2eApp {
	t.Helper()
	a := &e2eApp{id: id, store: memstore.New(memstore.Config{}), events: make(chan logout.Event, 4)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := a.handler.Load()
		if r.URL.Path != "/backchannel-logout" || h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// registration is the app's registration at the OP.
func (a *e2eApp) registration() rptest.Client {
	return rptest.Client{
		ClientID: a.id, ClientSecret: "secret-of-" + a.id,
		RedirectURIs:           []string{a.srv.URL + "/callback"},
		PostLogoutRedirectURIs: []string{a.srv.URL + "/logged-out"},
		BackChannelLogoutURI:   a.srv.URL + "/backchannel-logout",
	}
}

// testopClient is the same registration for internal/testop, for the tests
// that forge tokens rptest cannot.
func (a *e2eApp) testopClient() testop.Client {
	r := a.registration()
	return testop.Client{
		ID: r.ClientID, Secret: r.ClientSecret, RedirectURIs: r.RedirectURIs,
		PostLogoutRedirectURIs: r.PostLogoutRedirectURIs, BackChannelLogoutURI: r.BackChannelLogoutURI,
	}
}

// newRPTestOP starts an rptest OP with apps registered.
func newRPTestOP(t *testing.T, opts rptest.Options, apps ...*e2eApp) *rptest.Server {
	t.Helper()
	op := rptest.NewServer(opts)
	t.Cleanup(op.Close)
	for _, a := range apps {
		if err := op.Register(a.registration()); err != nil {
			t.Fatal(err)
		}
	}
	return op
}

// newE2EBrowser returns a browser that keeps cookies and stops at every
// redirect.
func newE2EBrowser() *http.Client {
	b := rptest.NewBrowser()
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b
}

// start configures the app's client and back-channel handler for the OP
// with issuer.
func (a *e2eApp) start(t *testing.T, issuer string) {
	t.Helper()
	c, err := rp.New(t.Context(), rp.Config{
		Issuer: issuer, ClientID: a.id, ClientSecret: "secret-of-" + a.id,
		RedirectURL: a.srv.URL + "/callback", PostLogoutRedirectURL: a.srv.URL + "/logged-out",
	})
	if err != nil {
		t.Fatal(err)
	}
	a.client = c
	v, err := logout.NewVerifier(logout.VerifierConfig{Providers: []logout.Provider{logout.ProviderFromClient(c)}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := logout.NewBackChannelHandler(logout.BackChannelConfig{
		Verifier: v, Store: a.store, Logger: slog.New(slog.DiscardHandler),
		OnLogout: func(_ context.Context, e logout.Event) { a.events <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	a.handler.Store(h)
}

// login runs the code flow in browser b and stores the session.
func (a *e2eApp) login(t *testing.T, b *http.Client) (*rp.Result, *sessionstore.Session) {
	t.Helper()
	authURL, st, err := a.client.Login()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	res, err := a.client.Callback(t.Context(), loc.Query(), st)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	s := &sessionstore.Session{
		ID: a.id + "-session", Issuer: res.Issuer, Subject: res.Subject, SID: res.SID,
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
		Data: sessionstore.Data{IDToken: res.RawIDToken},
	}
	if err := a.store.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return res, s
}

// TestBackChannelEndToEnd: a user logged into two apps signs out of one
// (RP-initiated logout); the OP posts logout tokens to both back-channel
// endpoints; both sessions end, and the initiating app, which had already
// ended its session locally, still answers 200.
func TestBackChannelEndToEnd(t *testing.T) {
	app1, app2 := newE2EApp(t, "app1"), newE2EApp(t, "app2")
	op := newRPTestOP(t, rptest.Options{}, app1, app2)
	app1.start(t, op.Issuer())
	app2.start(t, op.Issuer())

	browser := newE2EBrowser()
	res1, s1 := app1.login(t, browser)
	res2, s2 := app2.login(t, browser)
	if res1.SID == "" || res1.SID != res2.SID || res1.Subject != res2.Subject {
		t.Fatalf("expected one OP session: sid %q/%q sub %q/%q", res1.SID, res2.SID, res1.Subject, res2.Subject)
	}

	// Sign out of app1: it ends its own session first, then sends the
	// browser to the OP.
	if ended, err := app1.store.Delete(t.Context(), s1.ID); err != nil || ended == nil {
		t.Fatalf("local logout: %v, %v", ended, err)
	}
	endURL, err := app1.client.EndSessionURL(rp.LogoutParams{IDTokenHint: res1.RawIDToken, State: "st"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Get(endURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	logouts := op.Logouts()
	if len(logouts) != 1 || len(logouts[0].SIDs) != 1 || logouts[0].SIDs[0] != res1.SID {
		t.Fatalf("logouts at the OP = %+v, want one of sid %q", logouts, res1.SID)
	}
	deliveries := logouts[0].BackChannel
	if len(deliveries) != 2 {
		t.Fatalf("deliveries = %+v, want 2", deliveries)
	}
	for _, d := range deliveries {
		if d.Err != nil || d.Status != http.StatusOK {
			t.Errorf("delivery to %s: status %d, err %v; want 200", d.ClientID, d.Status, d.Err)
		}
	}
	for _, s := range []*sessionstore.Session{s1, s2} {
		store := app1.store
		if s == s2 {
			store = app2.store
		}
		if _, err := store.Get(t.Context(), s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
			t.Errorf("%s: session still there (err %v)", s.ID, err)
		}
	}
	want := map[string]int{"app1": 0, "app2": 1} // app1 had ended its session already
	for _, a := range []*e2eApp{app1, app2} {
		select {
		case e := <-a.events:
			if e.Err != nil || e.Channel != logout.ChannelBackChannel || e.SID != res1.SID || e.Issuer != op.Issuer() || e.Ended != want[a.id] {
				t.Errorf("%s: event %+v, want success ending %d", a.id, e, want[a.id])
			}
		default:
			t.Errorf("%s: no logout event", a.id)
		}
	}

	// The OP delivering the same token again (a retry) is refused as a
	// replay.
	d := deliveries[1]
	post, err := http.PostForm(d.URL, url.Values{"logout_token": {d.LogoutToken}})
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusBadRequest || post.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("replayed delivery: %d %q, want 400 no-store", post.StatusCode, post.Header.Get("Cache-Control"))
	}
}

// TestBackChannelEndToEndLegacyOP: an OP built to the 2022 text (no exp,
// typ JWT) is refused by default and accepted in compatibility mode.
func TestBackChannelEndToEndLegacyOP(t *testing.T) {
	for _, compat := range []bool{false, true} {
		app := newE2EApp(t, "app")
		op := newRPTestOP(t, rptest.Options{LegacyLogoutTokens: true}, app)
		app.start(t, op.Issuer())
		if compat {
			v, err := logout.NewVerifier(logout.VerifierConfig{
				Providers:       []logout.Provider{logout.ProviderFromClient(app.client)},
				AllowMissingExp: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			h, err := logout.NewBackChannelHandler(logout.BackChannelConfig{Verifier: v, Store: app.store, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			app.handler.Store(h)
		}
		res, _ := app.login(t, newE2EBrowser())
		ds := op.EndSession(t.Context(), res.SID).BackChannel
		want := http.StatusBadRequest
		if compat {
			want = http.StatusOK
		}
		if len(ds) != 1 || ds[0].Status != want {
			t.Fatalf("compat=%v: deliveries %+v, want one with status %d", compat, ds, want)
		}
		_, err := app.store.Get(t.Context(), "app-session")
		if gone := errors.Is(err, sessionstore.ErrNotFound); gone != compat {
			t.Errorf("compat=%v: session gone = %v", compat, gone)
		}
	}
}

// TestBackChannelWithRPKeySet runs tokens minted by the OP through a handler
// wired with ProviderFromClient, so the real rp.KeySet (remote JWKS, kid
// lookup, pinned algorithms) does the signature check.
func TestBackChannelWithRPKeySet(t *testing.T) {
	app := newE2EApp(t, "app")
	op := testop.NewServer(t, testop.Config{Clients: []testop.Client{app.testopClient()}})
	app.start(t, op.Issuer())
	res, s := app.login(t, newE2EBrowser())

	claims := func() map[string]any { return op.LogoutClaims("app", res.Subject, res.SID) }
	cases := []struct {
		name   string
		token  func() string
		status int
		reason logout.Reason
	}{
		{"ES256 signed by the OP's published key", func() string { return op.SignLogoutToken(claims(), testop.WithAlg("ES256")) }, 400, logout.ReasonAlgNotAllowed},
		{"alg none", func() string { return op.SignLogoutToken(claims(), testop.WithAlg("none")) }, 400, logout.ReasonAlgNone},
		{"foreign key, OP's kid", func() string {
			return op.SignLogoutToken(claims(), testop.WithKey(op.ForeignKey()), testop.WithHeader("kid", op.KeyID("RS256")))
		}, 400, logout.ReasonBadSignature},
		{"unknown kid", func() string { return op.SignLogoutToken(claims(), testop.WithKey(op.ForeignKey())) }, 400, logout.ReasonBadSignature},
		{"valid", func() string { return op.SignLogoutToken(claims()) }, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(app.srv.URL+"/backchannel-logout", url.Values{"logout_token": {tc.token()}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Cache-Control %q; want %d, no-store", resp.StatusCode, resp.Header.Get("Cache-Control"), tc.status)
			}
			e := <-app.events
			var ve *logout.ValidationError
			if tc.reason != "" && (!errors.As(e.Err, &ve) || ve.Reason != tc.reason) {
				t.Errorf("event error %v, want reason %s", e.Err, tc.reason)
			}
			_, err = app.store.Get(t.Context(), s.ID)
			if gone := errors.Is(err, sessionstore.ErrNotFound); gone != (tc.status == 200) {
				t.Errorf("session gone = %v", gone)
			}
		})
	}
}

// TestBackChannelEncryptedWithRP: a client with ID token decryption keys
// gets a Provider that decrypts with them and requires encryption.
func TestBackChannelEncryptedWithRP(t *testing.T) {
	encKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app := newE2EApp(t, "app")
	op := testop.NewServer(t, testop.Config{Clients: []testop.Client{app.testopClient()}})
	c, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "secret-of-app",
		RedirectURL:    app.srv.URL + "/callback",
		DecryptionKeys: []jose.JSONWebKey{{Key: encKey, KeyID: "enc-1", Use: "enc", Algorithm: string(jose.RSA_OAEP_256)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := logout.ProviderFromClient(c)
	if !p.EncryptionRequired || p.Decrypt == nil || p.Issuer != op.Issuer() || p.ClientID != "app" || len(p.Algs) == 0 {
		t.Fatalf("provider = %+v", p)
	}
	v, err := logout.NewVerifier(logout.VerifierConfig{Providers: []logout.Provider{p}})
	if err != nil {
		t.Fatal(err)
	}
	claims := op.LogoutClaims("app", "alice", "sid-1")
	enc := op.SignLogoutToken(claims, testop.WithEncryption(&encKey.PublicKey, jose.RSA_OAEP_256, jose.A256GCM))
	tk, err := v.Verify(t.Context(), enc)
	if err != nil || tk.SID != "sid-1" {
		t.Fatalf("encrypted token: %v, %v", tk, err)
	}
	_, err = v.Verify(t.Context(), op.SignLogoutToken(op.LogoutClaims("app", "alice", "sid-1")))
	var ve *logout.ValidationError
	if !errors.As(err, &ve) || ve.Reason != logout.ReasonEncryptionRequired {
		t.Errorf("unencrypted token: %v, want %s", err, logout.ReasonEncryptionRequired)
	}
}
