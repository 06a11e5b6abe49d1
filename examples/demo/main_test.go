package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/rp/rptest"
)

// TestDemo runs the quick start's demo as a person would use it, with a
// cookie-keeping HTTP client for the browser: sign in to both apps, call
// the API, sign in again with prompt=login, sign out of app A; then app B
// (through back-channel logout) and app A show no session.
func TestDemo(t *testing.T) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	op, apps, err := startDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, apps) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	b := rptest.NewBrowser()
	page := func(method, url string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	const signedIn = `Signed in as <b id="name">Alice Liddell</b> &lt;<span id="email">alice@example.com</span>&gt;`
	a, bApp := apps[0], apps[1]
	for _, app := range apps {
		if code, body := page(http.MethodGet, app.base+"/"); code != http.StatusOK || !strings.Contains(body, "Not signed in.") {
			t.Fatalf("app %s before login: %d %q", app.name, code, body)
		}
		if code, body := page(http.MethodGet, app.base+"/login"); code != http.StatusOK || !strings.Contains(body, signedIn) {
			t.Fatalf("app %s after login: %d %q", app.name, code, body)
		}
	}
	if code, body := page(http.MethodGet, a.base+"/api"); code != http.StatusOK || !strings.Contains(body, "200 OK") || !strings.Contains(body, `"sub":"alice"`) {
		t.Fatalf("API call: %d %q", code, body)
	}
	if code, body := page(http.MethodGet, a.base+"/login?prompt=login"); code != http.StatusOK || !strings.Contains(body, signedIn) {
		t.Fatalf("sign in again with prompt=login: %d %q", code, body)
	}

	if code, body := page(http.MethodPost, a.base+"/logout"); code != http.StatusOK {
		t.Fatalf("sign out of app A: %d %q", code, body)
	}
	for _, app := range []*app{bApp, a} {
		if code, body := page(http.MethodGet, app.base+"/"); code != http.StatusOK || !strings.Contains(body, "Not signed in.") {
			t.Errorf("app %s after signing out of A: %d %q", app.name, code, body)
		}
	}
	if los := op.Logouts(); len(los) != 1 || len(los[0].BackChannel) != 2 {
		t.Errorf("logouts at the OP: %+v, want one, delivered to both apps", los)
	} else {
		for _, d := range los[0].BackChannel {
			if d.Status != http.StatusOK {
				t.Errorf("back-channel delivery %+v", d)
			}
		}
	}
}
