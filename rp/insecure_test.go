package rp_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/rp"
)

// TestInsecureAllowHTTP checks the development opt-in for plain-http OPs
// and apps outside loopback: off by default, with an error that names it;
// when on, it covers the issuer, every discovered endpoint and the
// configured URLs, and New logs it at Error.
func TestInsecureAllowHTTP(t *testing.T) {
	const issuer = "http://keycloak:8080"
	setup := func(t *testing.T, allow bool) (rp.Config, *logRecorder) {
		op := newFakeOP(t)
		hc := op.rename(issuer)
		logs := &logRecorder{}
		cfg := op.config()
		cfg.HTTPClient = hc
		cfg.RedirectURL = "http://app:8080/callback"
		cfg.PostLogoutRedirectURL = "http://app:8080/logged-out"
		cfg.InsecureAllowHTTP = allow
		cfg.Logger = slog.New(logs)
		return cfg, logs
	}

	t.Run("off", func(t *testing.T) {
		cfg, logs := setup(t, false)
		_, err := rp.New(t.Context(), cfg)
		for _, want := range []string{
			`rp: Issuer "` + issuer + `" must use https`,
			`rp: RedirectURL "http://app:8080/callback" must use https`,
			`rp: PostLogoutRedirectURL "http://app:8080/logged-out" must use https`,
			"Config.InsecureAllowHTTP",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\ndoes not contain %q", err, want)
			}
		}
		if n := len(logs.find(slog.LevelError, "InsecureAllowHTTP")); n != 0 {
			t.Errorf("%d warnings logged without the opt-in", n)
		}
	})

	t.Run("on", func(t *testing.T) {
		cfg, logs := setup(t, true)
		cfg.EndSessionURL = "http://keycloak:8080/logout?tenant=a"
		c, err := rp.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := c.Metadata()
		if m.JWKSURL != issuer+"/jwks" || m.TokenEndpoint != issuer+"/token" || m.EndSessionEndpoint != cfg.EndSessionURL {
			t.Errorf("Metadata = %+v", m)
		}
		recs := logs.find(slog.LevelError, "Config.InsecureAllowHTTP")
		if len(recs) != 1 || !strings.Contains(recs[0].Message, "never use this in production") {
			t.Errorf("opt-in logged %d times at Error: %v", len(recs), logs.records)
		}
		if got := c.Config().InsecureAllowHTTP; !got {
			t.Error("Config().InsecureAllowHTTP = false")
		}
	})

	t.Run("on, other checks stay", func(t *testing.T) {
		cfg, _ := setup(t, true)
		cfg.RedirectURL = "ftp://app/callback"
		cfg.PostLogoutRedirectURL = "http://app/out#frag"
		_, err := rp.New(t.Context(), cfg)
		for _, want := range []string{`RedirectURL "ftp://app/callback" must use https`, "must not have a fragment"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\ndoes not contain %q", err, want)
			}
		}
	})
}
