package rp_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/rp"
)

// These tests run the real flows against internal/testop, a spec-faithful
// OP, with a cookie-keeping "browser" that does not follow redirects.

const (
	e2eRedirect  = "http://127.0.0.1/callback"
	e2eLoggedOut = "http://127.0.0.1/logged-out"
	e2eSecret    = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret-s3cret!!"
)

func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// follow GETs u and returns the query of the redirect target.
func follow(t *testing.T, b *http.Client, u string, wantPrefix string) url.Values {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 {
		t.Fatalf("GET %s: %d, Location %q", u, resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != wantPrefix {
		t.Fatalf("redirected to %q, want %q", got, wantPrefix)
	}
	return loc.Query()
}

func TestWithTestOP(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			op := testop.NewServer(t, testop.Config{Clients: []testop.Client{{
				ID: "app", Secret: e2eSecret, IDTokenSigningAlg: alg,
				RedirectURIs: []string{e2eRedirect}, PostLogoutRedirectURIs: []string{e2eLoggedOut},
			}}})
			clk := &clock{}
			clk.ns.Store(time.Now().UnixNano())
			c, err := rp.New(t.Context(), rp.Config{
				Issuer: op.Issuer(), ClientID: "app", ClientSecret: e2eSecret,
				RedirectURL: e2eRedirect, PostLogoutRedirectURL: e2eLoggedOut,
				SigningAlgs: []string{alg}, Now: clk.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !c.Metadata().AuthorizationResponseIssParameterSupported {
				t.Error("testop advertises RFC 9207 but Metadata does not say so")
			}
			b := newBrowser(t)
			login := func() *rp.Result {
				t.Helper()
				authURL, st, err := c.Login()
				if err != nil {
					t.Fatal(err)
				}
				params := follow(t, b, authURL, e2eRedirect)
				res, err := c.Callback(t.Context(), params, st)
				if err != nil {
					t.Fatalf("Callback: %v", err)
				}
				return res
			}
			res := login()
			if res.Subject != "alice" || res.SID == "" || res.SessionState == "" || res.Token.RefreshToken == "" {
				t.Fatalf("result = %+v", res)
			}

			// Refresh: new ID token for the same subject.
			ref, err := c.Refresh(t.Context(), res.Token.RefreshToken, res.Subject)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if ref.RawIDToken == "" || ref.SID != res.SID || ref.Token.RefreshToken == res.Token.RefreshToken {
				t.Errorf("refresh result = %+v", ref)
			}

			// Key rotation (asymmetric algorithms): after the OP rotates, a
			// token with the new kid is accepted after one refetch.
			if alg != "HS256" {
				if err := op.RotateKeys(); err != nil {
					t.Fatal(err)
				}
				clk.Advance(rp.MinJWKSRefresh)
				login()
			}

			// Revocation.
			if err := c.Revoke(t.Context(), ref.Token.RefreshToken, "refresh_token"); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if !op.Revoked(ref.Token.RefreshToken) {
				t.Error("refresh token not revoked at the OP")
			}

			// RP-initiated logout returns to the registered URL with state.
			endURL, err := c.EndSessionURL(rp.LogoutParams{IDTokenHint: res.RawIDToken, State: "bye state"})
			if err != nil {
				t.Fatal(err)
			}
			q := follow(t, b, endURL, e2eLoggedOut)
			if q.Get("state") != "bye state" {
				t.Errorf("post-logout state = %q", q.Get("state"))
			}
			if sids := op.SessionSIDs("alice"); len(sids) != 0 {
				t.Errorf("OP sessions left after logout: %v", sids)
			}
		})
	}
}
