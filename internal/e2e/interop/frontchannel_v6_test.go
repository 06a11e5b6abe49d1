package interop_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/logout"
)

// TestV6FrontChannelChromium: oidc-provider 6.31.1's logout page frames the
// frontchannel_logout_uri of both apps (with iss and sid) in chromium, and
// both sessions end. The OP runs on "localhost" and the apps on 127.0.0.1,
// so the iframes are cross-site, as they are in production.
func TestV6FrontChannelChromium(t *testing.T) {
	ctx := browser.New(t)
	apps := []*app{
		newApp(t, "front1", appOptions{frontChannel: true}),
		newApp(t, "front2", appOptions{frontChannel: true}),
	}
	op := oidcprovider.Start(t, oidcprovider.Options{
		Version: oidcprovider.V6,
		Host:    "localhost",
		Clients: []oidcprovider.Client{apps[0].registration(), apps[1].registration()},
	})
	for _, a := range apps {
		a.start(t, op)
	}
	md := apps[0].client.Metadata()
	if !md.FrontChannelLogoutSupported || !md.FrontChannelLogoutSessionSupported {
		t.Errorf("discovery: frontchannel_logout_supported %v, session %v", md.FrontChannelLogoutSupported, md.FrontChannelLogoutSessionSupported)
	}

	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	body := func(url string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("chromium at %s: %v", url, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("chromium at %s: %v", url, err)
		}
		return strings.TrimSpace(text)
	}

	for _, a := range apps {
		if got := body(a.url("/login?return_to=/")); got != "signed in as alice" {
			t.Fatalf("%s after login: %q", a.name, got)
		}
	}

	// Logout at the OP: the prompt submits itself, then the OP's page
	// frames both front-channel URIs and moves on once they loaded.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(md.EndSessionEndpoint),
		chromedp.Poll[chromedp.Void](`location.pathname.startsWith("/session/end/success")`, chromedp.WithPollingInterval(50*time.Millisecond)),
	); err != nil {
		t.Fatalf("OP logout: %v", err)
	}
	frames := waitOP(t, op, "frontchannel.frames", oidcprovider.Named("frontchannel.frames", ""))
	if len(frames.Frames) != 2 {
		t.Errorf("OP rendered frames %v, want 2", frames.Frames)
	}

	for _, a := range apps {
		evs := a.logoutEvents(logout.ChannelFrontChannel)
		if len(evs) != 1 || evs[0].Err != nil || evs[0].Ended != 1 || evs[0].SID == "" {
			t.Errorf("%s: front-channel events = %+v, want one that ended 1 session", a.name, evs)
		}
		if got := body(a.url("/")); got != "signed out" {
			t.Errorf("%s after front-channel logout: %q", a.name, got)
		}
	}
}
