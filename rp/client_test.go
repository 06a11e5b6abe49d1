package rp_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  rp.Config
		want []string // every message must appear in the joined error
	}{
		{"empty", rp.Config{}, []string{"Issuer is required", "ClientID is required", "RedirectURL is required"}},
		{"relative and insecure URLs", rp.Config{
			Issuer:                "op.example",
			ClientID:              "app",
			RedirectURL:           "/callback",
			PostLogoutRedirectURL: "http://app.example/out",
			EndSessionURL:         "http://op.example/logout",
		}, []string{`Issuer "op.example" is not an absolute URL`, `RedirectURL "/callback" is not an absolute URL`,
			"PostLogoutRedirectURL \"http://app.example/out\" must use https", "EndSessionURL \"http://op.example/logout\" must use https"}},
		{"http issuer", rp.Config{Issuer: "http://op.example", ClientID: "app", RedirectURL: "https://app.example/cb"},
			[]string{"Issuer \"http://op.example\" must use https"}},
		{"issuer with query, redirect with fragment", rp.Config{Issuer: "https://op.example?x=1", ClientID: "app", RedirectURL: "https://app.example/cb#f"},
			[]string{"Issuer must not have a query", "must not have a fragment"}},
		{"odd scheme", rp.Config{Issuer: "https://op.example", ClientID: "app", RedirectURL: "javascript:alert(1)"},
			[]string{"RedirectURL"}},
		{"algorithms and secrets", rp.Config{
			Issuer: "https://op.example", ClientID: "app", RedirectURL: "https://app.example/cb",
			SigningAlgs: []string{"none", "HS256", "XS1"}, AuthMethod: rp.AuthMethodPost,
		}, []string{`unsupported signing algorithm "none"`, `unsupported signing algorithm "XS1"`, "HS256 requires ClientSecret",
			"client_secret_post requires ClientSecret"}},
		{"misc", rp.Config{
			Issuer: "https://op.example", ClientID: "app", RedirectURL: "https://app.example/cb",
			AuthMethod: "private_key_jwt", Scopes: []string{"a b"}, ClockSkew: -time.Second,
			DecryptionKeys: []jose.JSONWebKey{{Key: otherKey().Public()}},
		}, []string{`unknown AuthMethod "private_key_jwt"`, `invalid scope "a b"`, "ClockSkew must not be negative", "DecryptionKeys[0] is not a private key"}},
	}
	tests = append(tests, struct {
		name string
		cfg  rp.Config
		want []string
	}{"short HMAC secret", rp.Config{Issuer: "https://op.example", ClientID: "app", RedirectURL: "https://app.example/cb",
		ClientSecret: strings.Repeat("s", 40), SigningAlgs: []string{"HS256", "HS384"}},
		[]string{"HS384 requires a ClientSecret of at least 48 bytes"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rp.New(t.Context(), tt.cfg)
			if err == nil || c != nil {
				t.Fatalf("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "rp: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

func TestNewLoopbackHTTPAllowed(t *testing.T) {
	for _, host := range []string{"localhost", "127.0.0.1", "127.1.2.3", "[::1]"} {
		cfg := rp.Config{Issuer: "http://" + host + ":1", ClientID: "app", RedirectURL: "http://" + host + "/cb"}
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // validation passes, then discovery fails at once
		_, err := rp.New(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "discovery") {
			t.Errorf("%s: error = %v, want a discovery error", host, err)
		}
	}
}

func TestNewDiscovery(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	m := c.Metadata()
	want := rp.Metadata{
		Issuer:                                     op.issuer,
		AuthorizationEndpoint:                      op.issuer + "/authorize?tenant=t1",
		TokenEndpoint:                              op.issuer + "/token",
		JWKSURL:                                    op.issuer + "/jwks",
		EndSessionEndpoint:                         op.issuer + "/logout?tenant=t1",
		CheckSessionIframe:                         op.issuer + "/check",
		RevocationEndpoint:                         op.issuer + "/revoke",
		UserinfoEndpoint:                           op.issuer + "/userinfo",
		FrontChannelLogoutSupported:                true,
		FrontChannelLogoutSessionSupported:         true,
		BackChannelLogoutSupported:                 true,
		BackChannelLogoutSessionSupported:          true,
		AuthorizationResponseIssParameterSupported: true,
		IDTokenSigningAlgValuesSupported:           []string{"RS256"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Metadata = %+v\nwant %+v", m, want)
	}
	if c.Issuer() != op.issuer || c.ClientID() != testClientID {
		t.Errorf("Issuer/ClientID = %q %q", c.Issuer(), c.ClientID())
	}
	cfg := c.Config()
	if !slices.Equal(cfg.Scopes, []string{"openid"}) || !slices.Equal(cfg.SigningAlgs, []string{"RS256"}) ||
		cfg.ClockSkew != rp.DefaultClockSkew || cfg.AuthMethod != rp.AuthMethodBasic || cfg.Logger == nil {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if c.EncryptionRequired() {
		t.Error("EncryptionRequired without keys")
	}
}

func TestNewDiscoveryProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(op *fakeOP)
		cfg  func(*rp.Config)
		want string
	}{
		{"issuer mismatch", func(op *fakeOP) { op.setMeta("issuer", op.issuer+"/") }, nil, "issuer"},
		{"http end_session_endpoint", func(op *fakeOP) { op.setMeta("end_session_endpoint", "http://op.example/logout") }, nil, "end_session_endpoint"},
		{"no token endpoint", func(op *fakeOP) { op.setMeta("token_endpoint", nil) }, nil, "token_endpoint missing"},
		{"relative jwks_uri", func(op *fakeOP) { op.setMeta("jwks_uri", "/jwks") }, nil, `jwks_uri "/jwks" is not an absolute URL`},
		{"jwks_uri with fragment", func(op *fakeOP) { op.setMeta("jwks_uri", "https://op.example/jwks#x") }, nil, "jwks_uri"},

		{"not found", func(op *fakeOP) {}, func(cfg *rp.Config) { cfg.Issuer += "/nothing" }, "discovery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			tt.edit(op)
			cfg := op.config()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			_, err := rp.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestNewDiscoveredEndpointsHTTPS checks that every endpoint the RP calls or
// sends the browser to must use https unless its host is loopback, and that
// the error names the field (OpenID Connect Core 1.0 §16.17).
func TestNewDiscoveredEndpointsHTTPS(t *testing.T) {
	fields := []string{
		"authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
		"revocation_endpoint", "end_session_endpoint", "check_session_iframe",
	}
	for _, field := range fields {
		t.Run(field, func(t *testing.T) {
			op := newFakeOP(t)
			op.setMeta(field, "http://op.example/"+field)
			_, err := rp.New(t.Context(), op.config())
			want := fmt.Sprintf("rp: discovery: %s %q must use https", field, "http://op.example/"+field)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v, want one containing %s", err, want)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		op := newFakeOP(t)
		for _, f := range fields {
			op.setMeta(f, "http://op.example/"+f)
		}
		_, err := rp.New(t.Context(), op.config())
		for _, f := range fields {
			if err == nil || !strings.Contains(err.Error(), f+` "http://op.example/`) {
				t.Errorf("error %v does not name %s", err, f)
			}
		}
	})
	t.Run("https and loopback http accepted", func(t *testing.T) {
		op := newFakeOP(t)
		for i, f := range fields {
			if f == "jwks_uri" || f == "token_endpoint" {
				continue // these are fetched below or by other tests
			}
			if i%2 == 0 {
				op.setMeta(f, "https://op.example/"+f+"?tenant=a;b")
			} else {
				op.setMeta(f, "http://[::1]:8080/"+f)
			}
		}
		c, err := rp.New(t.Context(), op.config())
		if err != nil {
			t.Fatal(err)
		}
		m := c.Metadata()
		if m.UserinfoEndpoint != "http://[::1]:8080/userinfo_endpoint" || m.CheckSessionIframe != "https://op.example/check_session_iframe?tenant=a;b" {
			t.Errorf("Metadata = %+v", m)
		}
	})
}

func TestNewCopiesConfig(t *testing.T) {
	op := newFakeOP(t)
	cfg := op.config()
	cfg.Scopes = []string{"openid", "profile"}
	c, err := rp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scopes[1] = "changed"
	got := c.Config()
	got.Scopes[0] = "changed too"
	if s := c.Config().Scopes; !slices.Equal(s, []string{"openid", "profile"}) {
		t.Errorf("Client shares the Scopes slice: %v", s)
	}
}

func TestEndSessionOverride(t *testing.T) {
	op := newFakeOP(t)
	op.setMeta("end_session_endpoint", nil)
	c := op.client(t, func(cfg *rp.Config) { cfg.EndSessionURL = "https://op.example/bye" })
	if got := c.Metadata().EndSessionEndpoint; got != "https://op.example/bye" {
		t.Fatalf("EndSessionEndpoint = %q", got)
	}
	if _, err := c.EndSessionURL(rp.LogoutParams{}); err != nil {
		t.Fatal(err)
	}
	c2 := op.client(t)
	if _, err := c2.EndSessionURL(rp.LogoutParams{}); !errors.Is(err, rp.ErrNoEndSessionEndpoint) {
		t.Fatalf("no endpoint: %v", err)
	}
}
