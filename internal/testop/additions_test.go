package testop_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/testop"
)

// TestSetProfile: profiles can change at run time; profile claims never
// replace the claims the OP sets itself.
func TestSetProfile(t *testing.T) {
	op := newOP(t, testop.Config{Profiles: map[string]map[string]any{
		"alice": {"name": "Alice", "sub": "mallory", "iss": "http://evil.example", "nonce": "x", "acr": "forged"},
	}})
	tk := loginAt(t, op, browser(t), "app", "s3cret", rpRedirect)
	claims, _ := verify(t, op, tk.IDToken)
	if claims["name"] != "Alice" || claims["sub"] != "alice" || claims["iss"] != op.Issuer() ||
		claims["nonce"] != "n0" || claims["acr"] != nil {
		t.Errorf("claims %v", claims)
	}

	op.SetUser("dave")
	profile := map[string]any{"name": "Dave", "email": "dave@example.com"}
	op.SetProfile("dave", profile)
	profile["name"] = "changed after SetProfile"
	tk = loginAt(t, op, browser(t), "app", "s3cret", rpRedirect)
	if claims, _ := verify(t, op, tk.IDToken); claims["sub"] != "dave" || claims["name"] != "Dave" || claims["email"] != "dave@example.com" {
		t.Errorf("claims %v", claims)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, op.Issuer()+testop.PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	err = json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if err != nil || ui["sub"] != "dave" || ui["name"] != "Dave" {
		t.Errorf("userinfo %v, %v", ui, err)
	}

	op.SetProfile("dave", nil)
	tk = loginAt(t, op, browser(t), "app", "s3cret", rpRedirect)
	if claims, _ := verify(t, op, tk.IDToken); claims["sub"] != "dave" || claims["name"] != nil {
		t.Errorf("claims after SetProfile(nil) %v", claims)
	}
}

// TestTokenEndpointAuthMethod: a client registered with a method must use it.
func TestTokenEndpointAuthMethod(t *testing.T) {
	tests := []struct {
		method      string
		secret      string
		basic, post bool // which of the two secret methods succeed
		none        bool
	}{
		{"", "s", true, true, false},
		{"client_secret_basic", "s", true, false, false},
		{"client_secret_post", "s", false, true, false},
		{"none", "", false, false, true},
	}
	for _, tt := range tests {
		t.Run("method="+tt.method, func(t *testing.T) {
			t.Parallel()
			op := newOP(t, testop.Config{})
			const redirect = "http://m.example/cb"
			if err := op.AddClient(testop.Client{ID: "m", Secret: tt.secret, RedirectURIs: []string{redirect},
				TokenEndpointAuthMethod: tt.method}); err != nil {
				t.Fatal(err)
			}
			b := browser(t)
			for _, c := range []struct {
				name   string
				secret string
				basic  bool
				want   bool
			}{
				{"basic", "s", true, tt.basic},
				{"post", "s", false, tt.post},
				{"none", "", false, tt.none},
			} {
				p := authorize(t, op, b, "m", redirect, nil)
				status, _ := postToken(t, op, "m", c.secret, c.basic, codeForm(p.Get("code"), redirect))
				if ok := status == http.StatusOK; ok != c.want {
					t.Errorf("%s: status %d, want success %v", c.name, status, c.want)
				}
			}
		})
	}
}

func TestTokenEndpointAuthMethodValidation(t *testing.T) {
	for _, c := range []testop.Client{
		{ID: "a", TokenEndpointAuthMethod: "client_secret_basic"},
		{ID: "b", TokenEndpointAuthMethod: "client_secret_post"},
		{ID: "c", Secret: "s", TokenEndpointAuthMethod: "none"},
		{ID: "d", Secret: "s", TokenEndpointAuthMethod: "private_key_jwt"},
	} {
		if _, err := testop.New(testop.Config{Issuer: "http://op.example", Clients: []testop.Client{c}}); err == nil || !strings.Contains(err.Error(), `"`+c.ID+`"`) {
			t.Errorf("client %+v: error %v", c, err)
		}
	}
}

// TestLogouts: every logout that ended a session is recorded, from
// EndSessionLogout and from the end-session endpoint, with the ended sids,
// the back-channel deliveries, the front-channel URLs and the redirect.
func TestLogouts(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	op := newOP(t, testop.Config{})
	op.AddClient(testop.Client{ID: "both", Secret: "s3cret", RedirectURIs: []string{"http://both.example/cb"},
		PostLogoutRedirectURIs: []string{"http://both.example/bye"},
		FrontChannelLogoutURIs: []string{"http://both.example/fcl"}, FrontChannelLogoutSessionRequired: true,
		BackChannelLogoutURI: rcv.srv.URL})

	if lo := op.EndSessionLogout(t.Context(), "alice"); lo.SIDs != nil || lo.Deliveries != nil || lo.FrontChannelURLs != nil {
		t.Errorf("nothing to end: %+v", lo)
	}
	if got := op.Logouts(); len(got) != 0 {
		t.Errorf("Logouts after a no-op %+v", got)
	}

	op.SetNextSID("sid-1")
	loginAt(t, op, browser(t), "both", "s3cret", "http://both.example/cb")
	lo := op.EndSessionLogout(t.Context(), "alice")
	wantFC := "http://both.example/fcl?iss=" + url.QueryEscape(op.Issuer()) + "&sid=sid-1"
	if !slices.Equal(lo.SIDs, []string{"sid-1"}) || len(lo.Deliveries) != 1 || lo.Deliveries[0].Status != http.StatusOK ||
		!slices.Equal(lo.FrontChannelURLs, []string{wantFC}) || lo.PostLogoutRedirectURI != "" {
		t.Errorf("EndSessionLogout %+v", lo)
	}
	<-rcv.tokens

	op.SetNextSID("sid-2")
	b := browser(t)
	loginAt(t, op, b, "both", "s3cret", "http://both.example/cb")
	resp, _ := endSession(t, op, b, http.MethodGet, url.Values{"client_id": {"both"},
		"post_logout_redirect_uri": {"http://both.example/bye"}, "state": {"st"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("end_session: %d", resp.StatusCode)
	}
	<-rcv.tokens
	got := op.Logouts()
	if len(got) != 2 {
		t.Fatalf("Logouts %+v", got)
	}
	if lo := got[1]; !slices.Equal(lo.SIDs, []string{"sid-2"}) || len(lo.Deliveries) != 1 ||
		len(lo.FrontChannelURLs) != 1 || !strings.HasSuffix(lo.FrontChannelURLs[0], "&sid=sid-2") ||
		lo.PostLogoutRedirectURI != "http://both.example/bye?state=st" {
		t.Errorf("end_session logout %+v", lo)
	}
	// The end-session endpoint with no session ends nothing and records nothing.
	endSession(t, op, b, http.MethodGet, url.Values{})
	if n := len(op.Logouts()); n != 2 {
		t.Errorf("%d logouts after an end_session without a session", n)
	}
}
