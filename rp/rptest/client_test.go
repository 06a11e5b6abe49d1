package rptest_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
)

func TestRegisterValidation(t *testing.T) {
	ok := rptest.Client{ClientID: "app", ClientSecret: "s3cret", RedirectURIs: []string{"http://app.example/cb"}}
	with := func(f func(*rptest.Client)) rptest.Client {
		c := ok
		f(&c)
		return c
	}
	tests := []struct {
		name   string
		client rptest.Client
		want   []string // substrings of the error; none means success
	}{
		{"minimal confidential", ok, nil},
		{"public", with(func(c *rptest.Client) { c.ClientSecret = "" }), nil},
		{"every field", rptest.Client{
			ClientID: "full", ClientSecret: strings.Repeat("k", 32), RedirectURIs: []string{"http://a.example/cb", "http://a.example/cb2"},
			PostLogoutRedirectURIs: []string{"http://a.example/bye"}, FrontChannelLogoutURI: "http://a.example/fc?x=1",
			FrontChannelLogoutSessionRequired: true, BackChannelLogoutURI: "http://a.example/bc", BackChannelLogoutSessionRequired: true,
			TokenEndpointAuthMethod: "client_secret_post", IDTokenSignedResponseAlg: "HS256",
		}, nil},
		{"no client_id", with(func(c *rptest.Client) { c.ClientID = "" }), []string{"client_id is required"}},
		{"no redirect_uris", with(func(c *rptest.Client) { c.RedirectURIs = nil }), []string{"redirect_uris is required"}},
		{"relative redirect", with(func(c *rptest.Client) { c.RedirectURIs = []string{"/cb"} }), []string{`"/cb"`}},
		{"empty redirect", with(func(c *rptest.Client) { c.RedirectURIs = []string{""} }), []string{`""`}},
		{"fragment", with(func(c *rptest.Client) { c.PostLogoutRedirectURIs = []string{"http://a.example/bye#x"} }), []string{"#x"}},
		{"bad front-channel URI", with(func(c *rptest.Client) { c.FrontChannelLogoutURI = "fc" }), []string{`"fc"`}},
		{"bad back-channel URI", with(func(c *rptest.Client) { c.BackChannelLogoutURI = "http://%zz" }), []string{"%zz"}},
		{"basic without secret", with(func(c *rptest.Client) { c.ClientSecret = ""; c.TokenEndpointAuthMethod = "client_secret_basic" }), []string{"needs a client secret"}},
		{"none with secret", with(func(c *rptest.Client) { c.TokenEndpointAuthMethod = "none" }), []string{"takes no client secret"}},
		{"private_key_jwt", with(func(c *rptest.Client) { c.TokenEndpointAuthMethod = "private_key_jwt" }), []string{"private_key_jwt"}},
		{"HS256 without secret", with(func(c *rptest.Client) { c.ClientSecret = ""; c.IDTokenSignedResponseAlg = "HS256" }), []string{"HS256 needs"}},
		{"PS256", with(func(c *rptest.Client) { c.IDTokenSignedResponseAlg = "PS256" }), []string{"PS256"}},
		{"every problem at once", rptest.Client{RedirectURIs: []string{"cb"}, TokenEndpointAuthMethod: "tls_client_auth", IDTokenSignedResponseAlg: "none"},
			[]string{"client_id is required", `"cb"`, "tls_client_auth", `"none"`}},
	}
	op := newServer(t, rptest.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := op.Register(tt.client)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Register accepted the client")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "rptest: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestRegisterJSONFromSlo registers the document slo's middleware produces
// and checks that every member the OP uses arrives.
func TestRegisterJSONFromSlo(t *testing.T) {
	op := newServer(t, rptest.Options{})
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	quiet := slog.New(slog.DiscardHandler)
	client, err := rp.New(t.Context(), rp.Config{Issuer: op.Issuer(), ClientID: "my-app", ClientSecret: "s3cret",
		AuthMethod: rp.AuthMethodPost, RedirectURL: app.URL + "/callback", PostLogoutRedirectURL: app.URL + "/logged-out",
		SigningAlgs: []string{"ES256"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Client: client, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	auth.Register(mux)

	var served json.RawMessage
	getJSON(t, app.URL+"/.well-known/oidc-client", &served)
	var c rptest.Client
	if err := json.Unmarshal(served, &c); err != nil {
		t.Fatal(err)
	}
	want := rptest.Client{
		ClientID: "my-app", RedirectURIs: []string{app.URL + "/callback"}, PostLogoutRedirectURIs: []string{app.URL + "/logged-out"},
		FrontChannelLogoutURI: app.URL + "/frontchannel-logout", FrontChannelLogoutSessionRequired: true,
		BackChannelLogoutURI: app.URL + "/backchannel-logout", BackChannelLogoutSessionRequired: true,
		TokenEndpointAuthMethod: "client_secret_post", IDTokenSignedResponseAlg: "ES256",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded registration\n got %+v\nwant %+v", c, want)
	}
	if err := op.RegisterJSON(served, "s3cret"); err != nil {
		t.Fatal(err)
	}
	// client_secret_post works and ES256 is used: the registration took.
	f := flow{op: op, client: rptest.Client{ClientID: "my-app", ClientSecret: "s3cret", RedirectURIs: want.RedirectURIs},
		browser: rptest.NewBrowser(), style: oauth2.AuthStyleInParams}
	if _, h := f.idToken(t); h.Algorithm != "ES256" {
		t.Errorf("ID token alg %s, want ES256 as registered", h.Algorithm)
	}
}

func TestRegisterJSONErrors(t *testing.T) {
	op := newServer(t, rptest.Options{})
	tests := []struct {
		name, doc, secret, want string
	}{
		{"not JSON", `client_id=app`, "", "registration document"},
		{"wrong type", `{"client_id": "app", "redirect_uris": "http://app.example/cb"}`, "", "registration document"},
		{"trailing data", `{"client_id": "app", "redirect_uris": ["http://app.example/cb"]} {}`, "", "registration document"},
		{"invalid client", `{"client_id": "app", "redirect_uris": []}`, "", "redirect_uris is required"},
		{"method needs the secret", `{"client_id": "app", "redirect_uris": ["http://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}`, "", "needs a client secret"},
		{"client_secret in the document is not used", `{"client_id": "app", "client_secret": "s", "redirect_uris": ["http://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}`, "", "needs a client secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := op.RegisterJSON([]byte(tt.doc), tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "rptest: ") {
				t.Errorf("RegisterJSON: %v, want an error about %s", err, tt.want)
			}
		})
	}
	// Members the OP does not use are ignored.
	doc := `{"client_id": "app", "redirect_uris": ["http://app.example/cb"], "grant_types": ["authorization_code"],
		"response_types": ["code"], "client_name": "My app"}`
	if err := op.RegisterJSON([]byte(doc), "s3cret"); err != nil {
		t.Errorf("RegisterJSON with extra members: %v", err)
	}
}

// TestRegisterReplaces: registering a client again under the same id
// replaces it.
func TestRegisterReplaces(t *testing.T) {
	op := newServer(t, rptest.Options{})
	old := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://old.example/cb"}}
	cur := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://new.example/cb"}}
	for _, c := range []rptest.Client{old, cur} {
		if err := op.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	flow{op: op, client: cur, browser: rptest.NewBrowser()}.idToken(t)

	b := rptest.NewBrowser()
	resp, err := b.Get(discovery(t, op)["authorization_endpoint"].(string) +
		"?response_type=code&client_id=app&scope=openid&redirect_uri=http://old.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("login with the replaced redirect URI: %s, want 400", resp.Status)
	}
}

// TestTokenEndpointAuthMethod: the OP accepts only the registered method.
func TestTokenEndpointAuthMethod(t *testing.T) {
	tests := []struct {
		registered string
		style      oauth2.AuthStyle
		wantOK     bool
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader, true},
		{"client_secret_basic", oauth2.AuthStyleInParams, false},
		{"client_secret_post", oauth2.AuthStyleInParams, true},
		{"client_secret_post", oauth2.AuthStyleInHeader, false},
		{"", oauth2.AuthStyleInHeader, true},
		{"", oauth2.AuthStyleInParams, true},
	}
	for _, tt := range tests {
		t.Run(tt.registered+"/"+map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "basic", oauth2.AuthStyleInParams: "post"}[tt.style], func(t *testing.T) {
			t.Parallel()
			op := newServer(t, rptest.Options{})
			c := rptest.Client{ClientID: "app", ClientSecret: "s3cret", RedirectURIs: []string{"http://app.example/cb"},
				TokenEndpointAuthMethod: tt.registered}
			if err := op.Register(c); err != nil {
				t.Fatal(err)
			}
			_, err := flow{op: op, client: c, browser: rptest.NewBrowser(), style: tt.style}.signIn(t)
			if (err == nil) != tt.wantOK {
				t.Errorf("code exchange: %v, want success %v", err, tt.wantOK)
			}
		})
	}
}

// TestSigningAlg: ID tokens and logout tokens are signed as registered.
func TestSigningAlg(t *testing.T) {
	for _, alg := range []string{"", "RS256", "ES256", "HS256"} {
		t.Run("alg="+alg, func(t *testing.T) {
			t.Parallel()
			op := newServer(t, rptest.Options{})
			secret := strings.Repeat("s", 32)
			c := rptest.Client{ClientID: "app", ClientSecret: secret, RedirectURIs: []string{"http://app.example/cb"},
				IDTokenSignedResponseAlg: alg}
			if err := op.Register(c); err != nil {
				t.Fatal(err)
			}
			want := alg
			if want == "" {
				want = "RS256"
			}
			if _, h := (flow{op: op, client: c, browser: rptest.NewBrowser()}).idToken(t); h.Algorithm != want {
				t.Errorf("ID token alg %s, want %s", h.Algorithm, want)
			}
			if _, h := verify(t, op, op.LogoutToken("app", "alice", ""), secret); h.Algorithm != want {
				t.Errorf("logout token alg %s, want %s", h.Algorithm, want)
			}
		})
	}
}
