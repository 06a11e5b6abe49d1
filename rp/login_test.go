package rp_test

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oidc-slo/slo/rp"
)

func TestLogin(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t, func(cfg *rp.Config) { cfg.Scopes = []string{"profile"} })
	authURL, st, err := c.Login(rp.Prompt("login"), rp.LoginHint("alice@example"), rp.ACRValues("urn:a urn:b"),
		rp.Scopes("email", "profile"), rp.Param("ui_locales", "de"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != op.issuer+"/authorize" {
		t.Errorf("endpoint = %q", got)
	}
	q := u.Query()
	want := map[string]string{
		"tenant":                "t1", // the endpoint's own query is kept
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          "http://127.0.0.1/callback",
		"state":                 st.State,
		"nonce":                 st.Nonce,
		"code_challenge":        pkceChallenge(st.CodeVerifier),
		"code_challenge_method": "S256",
		"prompt":                "login",
		"login_hint":            "alice@example",
		"acr_values":            "urn:a urn:b",
		"ui_locales":            "de",
	}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	scopes := strings.Fields(q.Get("scope"))
	slices.Sort(scopes)
	if !slices.Equal(scopes, []string{"email", "openid", "profile"}) {
		t.Errorf("scope = %q", q.Get("scope"))
	}
	if st.Issuer != op.issuer || !st.CreatedAt.Equal(op.clock.Now()) {
		t.Errorf("LoginState = %+v", st)
	}
	if len(st.State) < 26 || len(st.Nonce) < 26 || len(st.CodeVerifier) < 43 || st.State == st.Nonce {
		t.Errorf("weak LoginState values: %+v", st)
	}
	_, st2, err := c.Login()
	if err != nil {
		t.Fatal(err)
	}
	if st2.State == st.State || st2.Nonce == st.Nonce || st2.CodeVerifier == st.CodeVerifier {
		t.Error("LoginState values repeat across logins")
	}
}

func TestLoginRejectsReservedParams(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	for _, name := range []string{"state", "nonce", "code_challenge", "code_challenge_method", "client_id", "redirect_uri", "response_type", "scope", ""} {
		if u, st, err := c.Login(rp.Param(name, "x")); err == nil || u != "" || st != nil {
			t.Errorf("Param(%q) accepted: %q", name, u)
		}
	}
	if _, _, err := c.Login(rp.Scopes("bad scope")); err == nil {
		t.Error("scope with a space accepted")
	}
}

func TestLoginDefaultScope(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	u, _, err := c.Login(rp.IDTokenHint("h"))
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if got := pu.Query().Get("scope"); got != "openid" {
		t.Errorf("scope = %q, want openid", got)
	}
	if got := pu.Query().Get("id_token_hint"); got != "h" {
		t.Errorf("id_token_hint = %q", got)
	}
}

// TestLoginDuringFirstExchange runs Logins concurrently with the client's
// first code exchange, which sets x/oauth2's auth-style cache: with -race it
// fails if Login reads that cache without synchronisation, as it did when it
// copied the whole oauth2.Config.
func TestLoginDuringFirstExchange(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	_, st, err := c.Login()
	if err != nil {
		t.Fatal(err)
	}
	op.setIDToken(op.sign(op.claims(st.Nonce), signOpts{}))
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	wg.Go(func() {
		_, err := c.Callback(t.Context(), op.callbackParams(st), st)
		errs <- err
	})
	for range 8 {
		wg.Go(func() {
			_, _, err := c.Login()
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
