package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fetchPage GETs path at the app as a browser navigation, without
// following redirects.
func (e *env) fetchPage(path string, hdr http.Header) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.app.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestErrorPageOPRefusal: an error response from the OP shows a page in
// plain words with the OP's error and error_description, escaped and
// clipped, and a link to try again; the log carries the description.
func TestErrorPageOPRefusal(t *testing.T) {
	e := newEnv(t, envOptions{})
	authURL := e.startLogin()
	desc := "User cancelled <script>alert(1)</script> " + strings.Repeat("x", 1000)
	q := url.Values{"state": {authURL.Query().Get("state")}, "iss": {e.op.Issuer()},
		"error": {"access_denied"}, "error_description": {desc}}
	resp, body := e.fetchPage("/callback?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"cancelled or refused", "<code>access_denied</code>", "User cancelled &lt;script&gt;", `<a href="/login">Try again</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, strings.Repeat("x", 400)) {
		t.Errorf("page reflects the description unescaped or unclipped:\n%s", body)
	}
	if !strings.Contains(e.logs(), "User cancelled") {
		t.Errorf("log lacks the OP's description: %s", e.logs())
	}
}

// TestErrorPageStateCauses: a callback without the login cookie names the
// likely causes, the configured origin among them, and offers to try
// again; the log says the same. A script's request gets JSON.
func TestErrorPageStateCauses(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.fetchPage("/callback?state=NOSUCHSTATE&code=x", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{"cookies are blocked", "took longer than 10m0s", "another address than " + e.app.URL, "Try again"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(e.logs(), "another address than "+e.app.URL) {
		t.Errorf("log lacks the cause: %s", e.logs())
	}
	resp, body = e.fetchPage("/callback?state=NOSUCHSTATE&code=x", http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"*/*"}})
	var v map[string]string
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &v) != nil || v["error"] == "" {
		t.Errorf("script request: %d %q", resp.StatusCode, body)
	}
}

// TestLoginMovesToConfiguredLoopbackHost: a login started at localhost
// while RedirectURL is on 127.0.0.1 moves to 127.0.0.1 first, so that its
// cookie reaches the callback.
func TestLoginMovesToConfiguredLoopbackHost(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := url.Parse(e.app.URL)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://localhost:"+u.Port()+"/login?return_to=/private/x", nil)
	resp, err := e.noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != e.app.URL+"/login?return_to=/private/x" {
		t.Fatalf("login at localhost = %d %q, want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), e.app.URL)
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("cookies set on the wrong host: %v", resp.Cookies())
	}
}
