package interop_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/logout"
)

// TestV6DraftBackChannelTokens: oidc-provider 6.31.1 implements Back-Channel
// Logout draft 06, whose logout tokens have typ "JWT" and no exp. slo
// refuses them by default (errata set 1 requires exp) and accepts them
// with logout.VerifierConfig.AllowMissingExp.
func TestV6DraftBackChannelTokens(t *testing.T) {
	strict, compat := newApp(t, "strict", appOptions{}), newApp(t, "compat", appOptions{allowMissingExp: true})
	op := oidcprovider.Start(t, oidcprovider.Options{
		Version: oidcprovider.V6,
		Clients: []oidcprovider.Client{strict.registration(), compat.registration()},
	})
	strict.start(t, op)
	compat.start(t, op)

	ua := oidcprovider.NewUserAgent()
	sStrict := strict.login(t, ua)
	sCompat := compat.login(t, ua)
	if sStrict.SID == "" || sCompat.SID == "" {
		t.Fatalf("sessions without sid: %q, %q", sStrict.SID, sCompat.SID)
	}
	if sStrict.Data.SessionState == "" {
		t.Errorf("no session_state kept from oidc-provider 6 (session management)")
	}

	page, err := ua.Get(t.Context(), strict.client.Metadata().EndSessionEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Signed out at the OP") {
		t.Errorf("OP logout ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}

	backchannel := func(a *app) oidcprovider.Event {
		return waitOP(t, op, "back-channel to "+a.name, func(ev oidcprovider.Event) bool {
			return (ev.Name == "backchannel.success" || ev.Name == "backchannel.error") && ev.ClientID == a.name
		})
	}

	// Default: refused with 400; the session stays.
	ev := backchannel(strict)
	if ev.Name != "backchannel.error" || !strings.Contains(ev.Error, "400") {
		t.Errorf("strict: OP recorded %+v, want backchannel.error with 400", ev)
	}
	if s, err := strict.session(t.Context(), ua); err != nil || s.SID != sStrict.SID {
		t.Errorf("strict: session after a refused logout token: %v, %v", s, err)
	}
	if evs := strict.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Err == nil || evs[0].Ended != 0 {
		t.Errorf("strict: back-channel events = %+v, want one refusal", evs)
	}

	// Compatibility mode: accepted; the session ends.
	ev = backchannel(compat)
	if ev.Name != "backchannel.success" || ev.SID != sCompat.SID {
		t.Errorf("compat: OP recorded %+v, want backchannel.success for sid %s", ev, sCompat.SID)
	}
	if _, err := compat.session(t.Context(), ua); err == nil {
		t.Error("compat: session still present after back-channel logout")
	}
	if evs := compat.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Err != nil || evs[0].Ended != 1 {
		t.Errorf("compat: back-channel events = %+v", evs)
	}
}
