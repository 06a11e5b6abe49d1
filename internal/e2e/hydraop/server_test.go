package hydraop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/e2e/e2etest"
	"github.com/oidc-slo/slo/internal/e2e/hydraop"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
)

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestStartLoginLogout: a client registered from registration JSON logs in
// through the apps, and a logout at Hydra calls its back-channel URI.
func TestStartLoginLogout(t *testing.T) {
	tokens := make(chan string, 1)
	rpSrv := httptest.NewServer(nil)
	t.Cleanup(rpSrv.Close)
	redirectURL := rpSrv.URL + "/callback"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oidc-client", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id":                           "app",
			"redirect_uris":                       []string{redirectURL},
			"post_logout_redirect_uris":           []string{rpSrv.URL + "/logged-out"},
			"backchannel_logout_uri":              rpSrv.URL + "/backchannel-logout",
			"backchannel_logout_session_required": true,
			"grant_types":                         []string{"authorization_code", "refresh_token"},
			"response_types":                      []string{"code"},
			"token_endpoint_auth_method":          "client_secret_basic",
			"id_token_signed_response_alg":        "RS256", // not a Hydra field: dropped
		})
	})
	mux.HandleFunc("POST /backchannel-logout", func(w http.ResponseWriter, r *http.Request) {
		select {
		case tokens <- r.PostFormValue("logout_token"):
		default:
		}
	})
	rpSrv.Config.Handler = mux

	op := hydraop.Start(t, hydraop.Options{})
	if !strings.HasPrefix(op.Issuer(), "http://localhost:") {
		t.Fatalf("Issuer() = %q", op.Issuer())
	}
	var d struct{ Issuer, AuthorizationEndpoint, TokenEndpoint, EndSessionEndpoint string }
	var raw map[string]any
	getJSON(t, op.Issuer()+"/.well-known/openid-configuration", &raw)
	d.Issuer, _ = raw["issuer"].(string)
	d.AuthorizationEndpoint, _ = raw["authorization_endpoint"].(string)
	d.TokenEndpoint, _ = raw["token_endpoint"].(string)
	d.EndSessionEndpoint, _ = raw["end_session_endpoint"].(string)
	if d.Issuer != op.Issuer() || d.EndSessionEndpoint != op.Issuer()+"/oauth2/sessions/logout" {
		t.Errorf("discovery: issuer %q, end_session_endpoint %q", d.Issuer, d.EndSessionEndpoint)
	}
	for _, k := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported", "frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
		if raw[k] != true {
			t.Errorf("discovery: %s = %v, want true", k, raw[k])
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	reg, err := hydraop.FetchRegistration(ctx, rpSrv.URL+"/.well-known/oidc-client")
	if err != nil {
		t.Fatal(err)
	}
	reg.Secret = "app-secret"
	if err := op.Register(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := op.Register(ctx, reg); err == nil {
		t.Error("registering the same client twice succeeded")
	}

	ua := oidcprovider.NewUserAgent()
	auth := d.AuthorizationEndpoint + "?" + url.Values{
		"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {redirectURL}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
	}.Encode()
	params, err := ua.Authorize(ctx, auth, redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	if params.Get("state") != "state-0123456789" || params.Get("code") == "" {
		t.Fatalf("callback parameters = %v", params)
	}
	login, err := op.WaitEvent(ctx, hydraop.Named("login", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if login.Subject != "alice" || login.SID == "" || login.Skip {
		t.Errorf("login event %+v, want alice, a sid, no skip", login)
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {params.Get("code")}, "redirect_uri": {redirectURL}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %d, %v", resp.StatusCode, err)
	}
	_, idt := e2etest.DecodeJWT(t, tok.IDToken)
	if idt["sub"] != "alice" || idt["sid"] != login.SID || idt["iss"] != op.Issuer() {
		t.Errorf("ID token claims %v, want sub alice, sid %s, iss %s", idt, login.SID, op.Issuer())
	}

	// Logout at Hydra without id_token_hint; no front-channel client, so
	// Hydra redirects to its post-logout page at once.
	page, err := ua.Get(ctx, d.EndSessionEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.String() != op.UIURL()+hydraop.SignedOutPath || page.Status != http.StatusOK {
		t.Errorf("logout ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
	lo, err := op.WaitEvent(ctx, hydraop.Named("logout", ""))
	if err != nil {
		t.Fatal(err)
	}
	if lo.RPInitiated || lo.SID != login.SID || lo.Subject != "alice" || lo.ClientID != "" || !strings.HasPrefix(lo.RequestURL, "/oauth2/sessions/logout") {
		t.Errorf("logout event %+v", lo)
	}
	bc, err := op.WaitEvent(ctx, func(ev hydraop.Event) bool {
		return strings.HasPrefix(ev.Name, "backchannel.") && ev.ClientID == "app"
	})
	if err != nil {
		t.Fatal(err)
	}
	if bc.Name != "backchannel.success" || bc.URL != reg.BackChannelLogoutURI {
		t.Errorf("back-channel event %+v", bc)
	}
	var token string
	select {
	case token = <-tokens:
	case <-ctx.Done():
		t.Fatal("no logout token")
	}
	header, claims := e2etest.DecodeJWT(t, token)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] == nil {
		t.Errorf("logout token header %v", header)
	}
	var names []string
	for k := range claims {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"aud", "events", "iat", "iss", "jti", "sid"}; !slices.Equal(names, want) {
		t.Errorf("logout token claims %v, want exactly %v (Hydra sends no exp and no sub)", claims, want)
	}
	if claims["sid"] != login.SID || claims["iss"] != op.Issuer() {
		t.Errorf("logout token claims %v", claims)
	}

	// The session is gone: the next login is not skipped.
	if _, err := ua.Authorize(ctx, auth, redirectURL); err != nil {
		t.Fatal(err)
	}
	var logins []hydraop.Event
	for _, ev := range op.Events() {
		if ev.Name == "login" {
			logins = append(logins, ev)
		}
		if ev.Name == "error" {
			t.Errorf("error event %+v", ev)
		}
	}
	if len(logins) != 2 || logins[1].Skip || logins[1].SID == login.SID {
		t.Errorf("login events %+v, want a second without skip and with a new sid", logins)
	}
}
