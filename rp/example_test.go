package rp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/oidc-slo/slo/rp"
)

// exampleOP serves just a discovery document; a real OP serves much more.
func exampleOP() *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := srv.URL
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                 iss,
			"authorization_endpoint": iss + "/authorize",
			"token_endpoint":         iss + "/token",
			"jwks_uri":               iss + "/jwks",
			"end_session_endpoint":   iss + "/logout?tenant=blue",
			"authorization_response_iss_parameter_supported": true,
			"backchannel_logout_supported":                   true,
			"backchannel_logout_session_supported":           true,
		})
	}))
	return srv
}

func ExampleNew() {
	op := exampleOP()
	defer op.Close()

	c, err := rp.New(context.Background(), rp.Config{
		Issuer:                op.URL, // https is required except on loopback hosts
		ClientID:              "app",
		ClientSecret:          "app-secret",
		RedirectURL:           "http://localhost:8080/callback",
		PostLogoutRedirectURL: "http://localhost:8080/logged-out",
		Scopes:                []string{"profile"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m := c.Metadata()
	fmt.Println("scopes:", c.Config().Scopes)
	fmt.Println("auth method:", c.Config().AuthMethod)
	fmt.Println("back-channel logout:", m.BackChannelLogoutSupported, m.BackChannelLogoutSessionSupported)
	fmt.Println("RFC 9207 iss:", m.AuthorizationResponseIssParameterSupported)
	// Output:
	// scopes: [openid profile]
	// auth method: client_secret_basic
	// back-channel logout: true true
	// RFC 9207 iss: true
}

func ExampleClient_Login() {
	op := exampleOP()
	defer op.Close()
	c, err := rp.New(context.Background(), rp.Config{
		Issuer:      op.URL,
		ClientID:    "app",
		RedirectURL: "http://localhost:8080/callback",
	})
	if err != nil {
		log.Fatal(err)
	}

	authURL, st, err := c.Login(rp.Prompt("login"), rp.Scopes("email"))
	if err != nil {
		log.Fatal(err)
	}
	// Keep st bound to this browser (sealed cookie or server-side) until
	// the callback, then pass it to Callback together with the query.
	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(u.Path)
	fmt.Println("state matches:", q.Get("state") == st.State)
	fmt.Println("nonce matches:", q.Get("nonce") == st.Nonce)
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "code_challenge_method", "prompt"} {
		fmt.Printf("%s=%s\n", k, q.Get(k))
	}
	// Output:
	// /authorize
	// state matches: true
	// nonce matches: true
	// response_type=code
	// client_id=app
	// redirect_uri=http://localhost:8080/callback
	// scope=openid email
	// code_challenge_method=S256
	// prompt=login
}

func ExampleClient_EndSessionURL() {
	op := exampleOP()
	defer op.Close()
	c, err := rp.New(context.Background(), rp.Config{
		Issuer:                op.URL,
		ClientID:              "app",
		RedirectURL:           "http://localhost:8080/callback",
		PostLogoutRedirectURL: "http://localhost:8080/logged-out",
	})
	if err != nil {
		log.Fatal(err)
	}

	// After deleting the local session, send the browser to the OP with
	// the session's raw ID token and a state bound to the browser.
	s, err := c.EndSessionURL(rp.LogoutParams{
		IDTokenHint: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		State:       "af0ifjsldkj",
		UILocales:   "de en",
	})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(s)
	fmt.Println(u.Path)
	q := u.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		fmt.Printf("%s=%s\n", k, strings.Join(q[k], ","))
	}
	// Output:
	// /logout
	// client_id=app
	// id_token_hint=eyJhbGciOiJSUzI1NiJ9.e30.c2ln
	// post_logout_redirect_uri=http://localhost:8080/logged-out
	// state=af0ifjsldkj
	// tenant=blue
	// ui_locales=de en
}
