package rptest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/rp/rptest"
)

const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// unverified returns the header and claims of a compact JWS without
// checking its signature.
func unverified(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", raw)
	}
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestLogoutTokenDefaults(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	op := newServer(t, rptest.Options{Now: func() time.Time { return now }})
	if err := op.Register(rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	raw := op.LogoutToken("app", "alice", "sid-1")
	claims, h := verify(t, op, raw, "")
	if h.Algorithm != "RS256" || h.KeyID == "" || h.ExtraHeaders["typ"] != "logout+jwt" {
		t.Errorf("header alg %s kid %q typ %v", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"])
	}
	ev, _ := claims["events"].(map[string]any)
	if _, ok := ev[logoutEvent].(map[string]any); !ok || len(ev) != 1 {
		t.Errorf("events %v", claims["events"])
	}
	if claims["iss"] != op.Issuer() || claims["aud"] != "app" || claims["sub"] != "alice" || claims["sid"] != "sid-1" ||
		claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(2*time.Minute).Unix()) {
		t.Errorf("claims %v", claims)
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		t.Error("no jti")
	}
	if _, again := unverified(t, op.LogoutToken("app", "alice", "sid-1")); again["jti"] == jti {
		t.Error("two tokens share a jti")
	}
	// Empty sub or sid: the claim is left out.
	if _, c := unverified(t, op.LogoutToken("app", "", "sid-1")); c["sid"] != "sid-1" || hasKey(c, "sub") {
		t.Errorf("without sub: %v", c)
	}
	if _, c := unverified(t, op.LogoutToken("app", "alice", "")); c["sub"] != "alice" || hasKey(c, "sid") {
		t.Errorf("without sid: %v", c)
	}
	// A client that is not registered gets RS256 too.
	if _, h := verify(t, op, op.LogoutToken("stranger", "alice", ""), ""); h.Algorithm != "RS256" {
		t.Errorf("unregistered client: alg %s", h.Algorithm)
	}
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func TestLogoutTokenLegacy(t *testing.T) {
	op := newServer(t, rptest.Options{LegacyLogoutTokens: true})
	claims, h := verify(t, op, op.LogoutToken("app", "alice", "s"), "")
	if hasKey(claims, "exp") || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("legacy token: claims %v, typ %v", claims, h.ExtraHeaders["typ"])
	}
	// Options apply on top of the legacy form.
	claims, h = verify(t, op, op.LogoutToken("app", "alice", "s", rptest.WithClaim("exp", 1), rptest.WithType("logout+jwt")), "")
	if claims["exp"] != float64(1) || h.ExtraHeaders["typ"] != "logout+jwt" {
		t.Errorf("legacy token with options: claims %v, typ %v", claims, h.ExtraHeaders["typ"])
	}
	// Back-channel deliveries have the legacy form.
	rcv := newReceiver(t, 200)
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}, BackChannelLogoutURI: rcv.srv.URL}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	lo := op.EndSession(t.Context(), "alice")
	if len(lo.BackChannel) != 1 {
		t.Fatalf("deliveries %+v", lo.BackChannel)
	}
	if h, c := unverified(t, lo.BackChannel[0].LogoutToken); hasKey(c, "exp") || h["typ"] != "JWT" {
		t.Errorf("delivered legacy token: header %v claims %v", h, c)
	}
}

func TestTokenOptions(t *testing.T) {
	op := newServer(t, rptest.Options{})
	past := time.Now().Add(-time.Hour).Unix()
	tests := []struct {
		name  string
		opts  []rptest.TokenOption
		check func(t *testing.T, header, claims map[string]any)
	}{
		{"remove exp", []rptest.TokenOption{rptest.WithClaim("exp", nil)}, func(t *testing.T, _, c map[string]any) {
			if hasKey(c, "exp") {
				t.Errorf("exp %v", c["exp"])
			}
		}},
		{"expired", []rptest.TokenOption{rptest.WithClaim("exp", past)}, func(t *testing.T, _, c map[string]any) {
			if c["exp"] != float64(past) {
				t.Errorf("exp %v", c["exp"])
			}
		}},
		{"audience list", []rptest.TokenOption{rptest.WithClaim("aud", []string{"app", "other"})}, func(t *testing.T, _, c map[string]any) {
			if aud, _ := c["aud"].([]any); len(aud) != 2 || aud[1] != "other" {
				t.Errorf("aud %v", c["aud"])
			}
		}},
		{"extra claim", []rptest.TokenOption{rptest.WithClaim("nonce", "n")}, func(t *testing.T, _, c map[string]any) {
			if c["nonce"] != "n" || c["sub"] != "alice" {
				t.Errorf("claims %v", c)
			}
		}},
		{"later option wins", []rptest.TokenOption{rptest.WithClaim("sid", nil), rptest.WithClaim("sid", "s2")}, func(t *testing.T, _, c map[string]any) {
			if c["sid"] != "s2" {
				t.Errorf("sid %v", c["sid"])
			}
		}},
		{"typ JWT", []rptest.TokenOption{rptest.WithType("JWT")}, func(t *testing.T, h, _ map[string]any) {
			if h["typ"] != "JWT" {
				t.Errorf("typ %v", h["typ"])
			}
		}},
		{"no typ", []rptest.TokenOption{rptest.WithType("")}, func(t *testing.T, h, _ map[string]any) {
			if hasKey(h, "typ") {
				t.Errorf("typ %v", h["typ"])
			}
		}},
		{"zero option", []rptest.TokenOption{{}}, func(t *testing.T, h, c map[string]any) {
			if h["typ"] != "logout+jwt" || c["sid"] != "s1" || !hasKey(c, "exp") {
				t.Errorf("header %v claims %v", h, c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := op.LogoutToken("app", "alice", "s1", tt.opts...)
			if _, _, err := tryVerify(t, op, raw, ""); err != nil {
				t.Errorf("signature: %v", err)
			}
			h, c := unverified(t, raw)
			tt.check(t, h, c)
		})
	}
}

func TestWithForeignKey(t *testing.T) {
	op := newServer(t, rptest.Options{})
	a := op.LogoutToken("app", "alice", "s", rptest.WithForeignKey())
	b := op.LogoutToken("app", "alice", "s", rptest.WithForeignKey())
	ha, claims := unverified(t, a)
	hb, _ := unverified(t, b)
	if ha["alg"] != "RS256" || ha["kid"] == nil || ha["kid"] != hb["kid"] {
		t.Errorf("headers %v and %v: want RS256 under one kid", ha, hb)
	}
	if claims["aud"] != "app" || claims["sid"] != "s" {
		t.Errorf("claims %v", claims)
	}
	var ke *keyError
	if _, _, err := tryVerify(t, op, a, ""); !errors.As(err, &ke) {
		t.Errorf("a token signed with the foreign key: %v, want no published key", err)
	}
}

func TestLogoutTokenPanicsOnBadClaim(t *testing.T) {
	op := newServer(t, rptest.Options{})
	defer func() {
		if recover() == nil {
			t.Error("LogoutToken with a claim that is not JSON did not panic")
		}
	}()
	op.LogoutToken("app", "alice", "s", rptest.WithClaim("bad", func() {}))
}
