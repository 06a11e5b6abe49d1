//go:build unix

package testop_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
)

// chromium returns the path of a Chromium binary ($CHROMIUM first, as in
// internal/e2e/browser, which this module cannot import), or skips the
// test (fails it in CI).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI")
	}
	t.Skip("chromium not installed")
	return ""
}

// openBrowser opens rawURL in headless Chromium, which runs until the test
// ends. Tests learn what happened from requests the pages make.
func openBrowser(t *testing.T, bin, rawURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), rawURL)
	// Chromium forks helpers; kill the whole process group it leads.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait() //nolint:errcheck // killed
	})
}

// next receives from ch or fails the test after a generous timeout.
func next(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

// authURL is an authorization request whose code nobody redeems.
func authURL(op *testop.OP, clientID, redirectURI string) string {
	return op.Issuer() + testop.PathAuthorize + "?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid"}, "state": {"st"}, "code_challenge": {challenge(verifier)},
		"code_challenge_method": {"S256"},
	}.Encode()
}

// TestBrowserFrontChannel drives login and logout in Chromium: the
// front-channel iframe must be loaded, with iss and sid intact, before the
// browser is sent to the post-logout redirect URI.
func TestBrowserFrontChannel(t *testing.T) {
	bin := chromium(t)
	t.Parallel()
	events := make(chan string, 10)
	record := func(s string) { events <- s }
	op := newOP(t, testop.Config{})
	rp := httptest.NewServer(http.NewServeMux())
	defer rp.Close()
	mux := rp.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, op.Issuer()+testop.PathEndSession+"?"+url.Values{"client_id": {"fc"},
			"post_logout_redirect_uri": {rp.URL + "/bye"}, "state": {"s 1"}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("/fcl", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		record(fmt.Sprintf("fcl tenant=%s iss=%s sid=%s", q.Get("tenant"), q.Get("iss"), q.Get("sid")))
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, "<p>bye</p>")
	})
	mux.HandleFunc("/bye", func(w http.ResponseWriter, r *http.Request) {
		record("bye state=" + r.URL.Query().Get("state"))
		fmt.Fprint(w, `<p id="bye">signed out</p>`)
	})
	op.AddClient(testop.Client{ID: "fc", RedirectURIs: []string{rp.URL + "/cb"},
		PostLogoutRedirectURIs: []string{rp.URL + "/bye"}, FrontChannelLogoutSessionRequired: true,
		FrontChannelLogoutURIs: []string{rp.URL + "/fcl?tenant=a%20b"}})
	const sid = `s p&c#d%e+f"g'<h>`
	op.SetNextSID(sid)

	openBrowser(t, bin, authURL(op, "fc", rp.URL+"/cb"))
	want := []string{"fcl tenant=a b iss=" + op.Issuer() + " sid=" + sid, "bye state=s 1"}
	for _, w := range want {
		if got := next(t, events, w); got != w {
			t.Errorf("got %q, want %q", got, w)
		}
	}
}

// TestBrowserCheckSession runs the OP iframe in Chromium from an RP page on
// another origin of the same site.
func TestBrowserCheckSession(t *testing.T) {
	bin := chromium(t)
	tests := []struct {
		name    string
		endOP   bool
		message string // posted after the real one
		cfg     testop.Config
		opHost  string // default 127.0.0.1, same site as the RP
		want    []string
	}{
		{name: "unchanged", want: []string{"unchanged"}},
		{name: "changed after EndSession", endOP: true, want: []string{"changed"}},
		{name: "malformed message", message: "garbage", want: []string{"unchanged", "error"}},
		// Cross-site, the iframe gets no OP cookie and reports a false
		// "changed" (Session Management §5.1); RPs must cope.
		{name: "cross-site: false positive", opHost: "localhost", want: []string{"changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := tt.opHost
			if host == "" {
				host = "127.0.0.1"
			}
			op, err := testop.Start(tt.cfg, host+":0")
			if err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			replies := make(chan string, 10)
			rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/report" {
					replies <- r.URL.Query().Get("m")
					return
				}
				if tt.endOP {
					op.EndSession(r.Context(), "alice")
				}
				opOrigin := testop.Origin(op.Issuer())
				fmt.Fprintf(w, `<!doctype html>
<iframe id="op" src="%s" onload="check()"></iframe>
<script>
var ss = new URLSearchParams(location.search).get("session_state");
window.addEventListener("message", function (e) {
  if (e.origin !== %q) { return; }
  fetch("/report?m=" + encodeURIComponent(e.data));
});
function check() {
  var f = document.getElementById("op").contentWindow;
  f.postMessage("sm client " + ss, %q);
  if (%q) { setTimeout(function () { f.postMessage(%q, %q); }, 200); }
}
</script>`, op.Issuer()+testop.PathCheckSession, opOrigin, opOrigin, tt.message, tt.message, opOrigin)
			}))
			defer rp.Close()
			op.AddClient(testop.Client{ID: "sm client", RedirectURIs: []string{rp.URL + "/cb"}})
			openBrowser(t, bin, authURL(op, "sm client", rp.URL+"/cb"))
			var got []string
			for range tt.want {
				got = append(got, next(t, replies, "a reply from the check_session iframe"))
			}
			slices.Sort(got)
			if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
				t.Errorf("replies %q, want %q", got, want)
			}
		})
	}
}
