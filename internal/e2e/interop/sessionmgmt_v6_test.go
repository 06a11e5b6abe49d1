package interop_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
)

// TestV6CheckSessionIframeChromium checks, with a bare Session Management
// RP page, that oidc-provider 6.31.1 as configured here answers in
// chromium: "unchanged" for the session_state slo kept from the
// authentication response, and "changed" once the user logged out at the
// OP. The OP and the app share the site 127.0.0.1: v6 sets its
// session-state cookie SameSite=None, which chromium drops without Secure
// on http, and falls back to a ".legacy" copy without SameSite (so Lax),
// which a cross-site check_session_iframe could not read.
//
// TestV6SessionManagementChromium runs the same scenario with the
// middleware's RP iframe.
func TestV6CheckSessionIframeChromium(t *testing.T) {
	ctx := browser.New(t)
	a := newApp(t, "sm", appOptions{noChannels: true})
	op := oidcprovider.Start(t, oidcprovider.Options{
		Version: oidcprovider.V6,
		Clients: []oidcprovider.Client{a.registration()},
	})
	a.start(t, op)
	if a.client.Metadata().CheckSessionIframe == "" {
		t.Fatal("discovery: no check_session_iframe")
	}

	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	poll := chromedp.WithPollingInterval(20 * time.Millisecond)
	answer := func() string {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(a.url("/session-probe")),
			chromedp.Poll[chromedp.Void](`window.opReady`, poll),
			chromedp.Evaluate[chromedp.Void](`window.check()`),
		); err != nil {
			t.Fatalf("session probe: %v", err)
		}
		got, err := chromedp.Run(ctx, chromedp.Poll[string](`window.answers.length > 0 && window.answers[0]`, poll))
		if err != nil {
			t.Fatalf("session probe answer: %v", err)
		}
		return got
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(a.url("/login?return_to=/"))); err != nil {
		t.Fatal(err)
	}
	if got := answer(); got != "unchanged" {
		t.Errorf("check_session_iframe after login = %q, want unchanged", got)
	}

	// Logout at the OP. The app registered no logout channel, so its own
	// session lives on; only the OP iframe can tell.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(a.client.Metadata().EndSessionEndpoint),
		chromedp.Poll[chromedp.Void](`location.pathname.startsWith("/session/end/success")`, poll),
	); err != nil {
		t.Fatalf("OP logout: %v", err)
	}
	if got := answer(); got != "changed" {
		t.Errorf("check_session_iframe after OP logout = %q, want changed", got)
	}
}
