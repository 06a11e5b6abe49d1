package rp_test

import (
	"errors"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/rp"
)

func TestEndSessionURL(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	tests := []struct {
		name string
		p    rp.LogoutParams
		want url.Values
	}{
		{"all parameters", rp.LogoutParams{
			IDTokenHint:           "eyJ.hint.sig",
			LogoutHint:            "alice@example",
			PostLogoutRedirectURL: "http://localhost/logged-out",
			State:                 "st&=1",
			UILocales:             "de en",
		}, url.Values{
			"tenant":                   {"t1"},
			"id_token_hint":            {"eyJ.hint.sig"},
			"logout_hint":              {"alice@example"},
			"client_id":                {testClientID},
			"post_logout_redirect_uri": {"http://localhost/logged-out"},
			"state":                    {"st&=1"},
			"ui_locales":               {"de en"},
		}},
		{"configured redirect by default, empty ones omitted", rp.LogoutParams{}, url.Values{
			"tenant":                   {"t1"},
			"client_id":                {testClientID},
			"post_logout_redirect_uri": {"http://localhost/logged-out"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.EndSessionURL(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != op.issuer+"/logout" {
				t.Errorf("endpoint = %q", got)
			}
			if got := u.Query(); !equalValues(got, tt.want) {
				t.Errorf("query = %v\nwant    %v", got, tt.want)
			}
		})
	}
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

func TestEndSessionURLErrors(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	if _, err := c.EndSessionURL(rp.LogoutParams{PostLogoutRedirectURL: "https://evil.example/"}); err == nil {
		t.Error("unregistered post_logout_redirect_uri accepted")
	}
	rec := httptest.NewRecorder()
	if err := c.WriteEndSessionForm(rec, rp.LogoutParams{PostLogoutRedirectURL: "https://evil.example/"}); err == nil || rec.Body.Len() != 0 {
		t.Error("form with unregistered post_logout_redirect_uri written")
	}

	op.setMeta("end_session_endpoint", nil)
	c = op.client(t, func(cfg *rp.Config) { cfg.PostLogoutRedirectURL = "" })
	if _, err := c.EndSessionURL(rp.LogoutParams{IDTokenHint: "x"}); !errors.Is(err, rp.ErrNoEndSessionEndpoint) {
		t.Errorf("no endpoint: %v", err)
	}
	rec = httptest.NewRecorder()
	if err := c.WriteEndSessionForm(rec, rp.LogoutParams{}); !errors.Is(err, rp.ErrNoEndSessionEndpoint) || rec.Body.Len() != 0 {
		t.Errorf("form without endpoint: %v", err)
	}
}

func TestWriteEndSessionForm(t *testing.T) {
	op := newFakeOP(t)
	c := op.client(t)
	rec := httptest.NewRecorder()
	evil := `"><script>alert(1)</script>`
	err := c.WriteEndSessionForm(rec, rp.LogoutParams{IDTokenHint: "eyJ.hint.sig", State: evil, UILocales: "de"})
	if err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	h := rec.Result().Header
	if rec.Code != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("status %d, content type %q", rec.Code, h.Get("Content-Type"))
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers = %v", h)
	}
	if strings.Contains(body, evil) || strings.Contains(body, "<script>alert") {
		t.Errorf("state not escaped:\n%s", body)
	}
	if !strings.Contains(body, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Errorf("escaped state not found:\n%s", body)
	}
	// The form posts to the endpoint, whose own query is kept.
	if !strings.Contains(body, `<form id="end-session" method="post" action="`+op.issuer+`/logout?tenant=t1">`) {
		t.Errorf("form action wrong:\n%s", body)
	}
	for _, in := range []string{
		`<input type="hidden" name="client_id" value="app">`,
		`<input type="hidden" name="id_token_hint" value="eyJ.hint.sig">`,
		`<input type="hidden" name="post_logout_redirect_uri" value="http://localhost/logged-out">`,
		`<input type="hidden" name="ui_locales" value="de">`,
		`<noscript>`,
	} {
		if !strings.Contains(body, in) {
			t.Errorf("missing %s in\n%s", in, body)
		}
	}
	if strings.Contains(body, `name="logout_hint"`) || strings.Contains(body, `name="tenant"`) {
		t.Errorf("unexpected field in\n%s", body)
	}
	// The auto-submit script is allowed by the CSP nonce, nothing else is.
	m := regexp.MustCompile(`<script nonce="([A-Z2-7]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no nonced script in\n%s", body)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") {
		t.Errorf("CSP %q does not allow nonce %s", csp, m[1])
	}
	if strings.Count(body, "<script") != 1 {
		t.Errorf("more than one script:\n%s", body)
	}
	// A second page uses a new nonce.
	rec2 := httptest.NewRecorder()
	if err := c.WriteEndSessionForm(rec2, rp.LogoutParams{}); err != nil {
		t.Fatal(err)
	}
	if rec2.Result().Header.Get("Content-Security-Policy") == csp {
		t.Error("CSP nonce reused")
	}
}

// TestEndSessionURLKeepsEndpointQuery checks that the end-session
// endpoint's own query is kept byte for byte, parsable or not, with the
// logout parameters appended (RP-Initiated Logout 1.0 §2.1), for GET and
// for the POST form.
func TestEndSessionURLKeepsEndpointQuery(t *testing.T) {
	for _, endpoint := range []string{
		"/logout?tenant=a;b",
		"/logout?z=1&a=%7e&tenant=t%20x",
		"/logout?tenant=%zz",
		"/logout?flag",
		"/logout?a=1&",
		"/logout?",
		"/logout",
		"/lo%67out;p?x=%2F",
		`/logout?q="><i>&amp;`,
	} {
		t.Run(endpoint, func(t *testing.T) {
			op := newFakeOP(t)
			op.setMeta("end_session_endpoint", op.issuer+endpoint)
			c := op.client(t)
			s, err := c.EndSessionURL(rp.LogoutParams{State: "s 1&x", IDTokenHint: "h"})
			if err != nil {
				t.Fatal(err)
			}
			base := op.issuer + endpoint
			if !strings.HasPrefix(s, base) {
				t.Fatalf("%q does not start with %q", s, base)
			}
			rest := strings.TrimPrefix(s, base)
			switch {
			case !strings.Contains(endpoint, "?"):
				rest = strings.TrimPrefix(rest, "?")
			case !strings.HasSuffix(endpoint, "?") && !strings.HasSuffix(endpoint, "&"):
				rest = strings.TrimPrefix(rest, "&")
			}
			got, err := url.ParseQuery(rest)
			want := url.Values{
				"client_id":                {testClientID},
				"id_token_hint":            {"h"},
				"post_logout_redirect_uri": {"http://localhost/logged-out"},
				"state":                    {"s 1&x"},
			}
			if err != nil || !equalValues(got, want) {
				t.Errorf("appended %q = %v (%v), want %v", rest, got, err, want)
			}

			rec := httptest.NewRecorder()
			if err := c.WriteEndSessionForm(rec, rp.LogoutParams{State: "s"}); err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`<form id="end-session" method="post" action="([^"]*)">`).FindStringSubmatch(rec.Body.String())
			if m == nil {
				t.Fatalf("no form in\n%s", rec.Body)
			}
			if action := html.UnescapeString(m[1]); action != base {
				t.Errorf("form action %q, want %q", action, base)
			}
		})
	}
}

// TestEndSessionEndpointParameterClash checks that an end-session endpoint
// whose own query sets a parameter of the logout request is refused by New:
// a request with two values of state or post_logout_redirect_uri means what
// each OP makes of it.
func TestEndSessionEndpointParameterClash(t *testing.T) {
	for _, q := range []string{
		"state=x", "tenant=a&client_id=other", "post_logout_redirect_uri=https%3A%2F%2Fevil.example",
		"tenant=a;id_token_hint=x", "st%61te=x", "ui_locales", "a=1&logout_hint=",
	} {
		t.Run(q, func(t *testing.T) {
			op := newFakeOP(t)
			op.setMeta("end_session_endpoint", op.issuer+"/logout?"+q)
			_, err := rp.New(t.Context(), op.config())
			if err == nil || !strings.Contains(err.Error(), "rp: discovery: end_session_endpoint") || !strings.Contains(err.Error(), "Config.EndSessionURL") {
				t.Errorf("discovered: error = %v", err)
			}

			op = newFakeOP(t)
			cfg := op.config()
			cfg.EndSessionURL = "https://op.example/logout?" + q
			_, err = rp.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), "rp: EndSessionURL") {
				t.Errorf("configured: error = %v", err)
			}
		})
	}
	op := newFakeOP(t)
	op.setMeta("end_session_endpoint", op.issuer+"/logout?xstate=1&state_x=2&client=3")
	if _, err := rp.New(t.Context(), op.config()); err != nil {
		t.Errorf("similar names refused: %v", err)
	}
}
