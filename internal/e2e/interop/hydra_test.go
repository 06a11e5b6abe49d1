package interop_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/hydraop"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/logout"
)

// The Hydra tests run slo against Ory Hydra v2.3.0 (package hydraop):
//
//   - TestHydraRPInitiatedLogoutChromium: sign-out of one app, with
//     Hydra's back- and front-channel calls to both.
//   - TestHydraLogoutAtOPChromium: the logout started at Hydra, without
//     id_token_hint.
//   - TestHydraSingleChannelChromium: an app registered front-channel
//     only, another back-channel only.
//   - TestHydraLoginAfterLogoutChromium: a stale tab after the logout, a
//     fresh login, and a second logout.
//   - TestHydraLogoutTokenWithoutExp: Hydra's logout tokens, refused by
//     default and accepted with Verifier.AllowMissingExp.
//
// The apps are registered at Hydra from their own registration JSON. The
// one slo setting Hydra needs is middleware.Config's
// Verifier.AllowMissingExp: its logout tokens have no exp
// (ory/hydra#4035); they are typed "JWT", which slo's default accepts.

// hydraTimeout bounds the browser work of one Hydra test.
const hydraTimeout = 90 * time.Second

// loginBoth signs the tab ctx in to A, then to B; Hydra remembers the
// first login, so both sessions carry the same sid.
func loginBoth(ctx context.Context, t *testing.T, op *hydraop.Server, a, b *hydraApp) (sa, sb hydraSession) {
	t.Helper()
	sa = browserLogin(ctx, t, a)
	sb = browserLogin(ctx, t, b)
	if sa.SID != sb.SID {
		t.Fatalf("sids %q and %q, want Hydra's one login session", sa.SID, sb.SID)
	}
	la := waitHydra(t, op, "login to "+a.name, hydraop.Named("login", a.name))
	lb := waitHydra(t, op, "login to "+b.name, hydraop.Named("login", b.name))
	if la.Skip || !lb.Skip || la.SID != sa.SID || lb.SID != sa.SID || la.Subject != "alice" {
		t.Fatalf("Hydra's logins %+v and %+v, want alice, then the remembered session %s", la, lb, sa.SID)
	}
	return sa, sb
}

// signInPair starts Hydra with the apps of specs a and b, then chromium
// (after Hydra, so that it closes first: Hydra's graceful shutdown waits up
// to 5 s for the connections chromium keeps open), and signs the tab in to
// both apps (loginBoth). ctx is the tab, bounded by hydraTimeout.
func signInPair(t *testing.T, a, b hydraAppSpec) (ctx context.Context, op *hydraop.Server, appA, appB *hydraApp, sa, sb hydraSession) {
	t.Helper()
	op, apps := startHydra(t, a, b)
	ctx, cancel := context.WithTimeout(browser.New(t), hydraTimeout)
	t.Cleanup(cancel)
	sa, sb = loginBoth(ctx, t, op, apps[0], apps[1])
	return ctx, op, apps[0], apps[1], sa, sb
}

// TestHydraRPInitiatedLogoutChromium: the user signs out of A. The
// end-session request reaches Hydra with id_token_hint, client_id,
// post_logout_redirect_uri and state; Hydra's logout flow runs (the test's
// logout app accepts); A's return checks and consumes the state; Hydra's
// server POSTs logout tokens to A and B, and B's session ends through it;
// Hydra's logout page frames the front-channel URIs of A and B with iss
// and sid (B holds its front-channel request until it answered the
// back-channel call, which Hydra starts at the same time, so that the back
// channel is the one that ends B's session). Both apps then answer the
// ended sessions' cookies with the login redirect.
func TestHydraRPInitiatedLogoutChromium(t *testing.T) {
	ctx, op, a, b, sa, sb := signInPair(t, hydraAppSpec{name: "hydra-a"}, hydraAppSpec{name: "hydra-b", frontAfterBack: true})
	stored, err := a.store.Get(t.Context(), sa.ID)
	if err != nil {
		t.Fatal(err)
	}
	signOut(ctx, t, a)

	// What Hydra received at its end-session endpoint.
	lo := waitHydra(t, op, "logout", hydraop.Named("logout", ""))
	if !lo.RPInitiated || lo.ClientID != a.name || lo.SID != sa.SID || lo.Subject != "alice" {
		t.Errorf("Hydra's logout request %+v, want RP-initiated by %s for sid %s", lo, a.name, sa.SID)
	}
	req, err := url.Parse(lo.RequestURL)
	if err != nil {
		t.Fatal(err)
	}
	q := req.Query()
	if req.Path != "/oauth2/sessions/logout" || q.Get("id_token_hint") != stored.Data.IDToken || q.Get("client_id") != a.name ||
		q.Get("post_logout_redirect_uri") != a.url("/logged-out") || q.Get("state") == "" {
		t.Errorf("end-session request at Hydra %s, want id_token_hint (A's ID token), client_id %s, post_logout_redirect_uri and state", lo.RequestURL, a.name)
	}
	// A's post-logout return carried that state, and slo accepted it:
	// only then does it redirect to the sign-out's return_to.
	returns := a.callsTo(http.MethodGet, "/logged-out")
	if len(returns) != 1 || returns[0].Query.Get("state") != q.Get("state") || returns[0].Status != http.StatusSeeOther || returns[0].Location != "/after" {
		t.Errorf("%s: post-logout returns %+v, want one with state %q redirected to /after", a.name, returns, q.Get("state"))
	}
	if got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#after"))); err != nil || got != "signed out" {
		t.Errorf("%s: /after shows %q (%v)", a.name, got, err)
	}
	// The state is used up: the same return again gets the neutral page.
	browser.Do(ctx, t, "the post-logout return again",
		chromedp.Navigate(a.url("/logged-out?")+url.Values{"state": {q.Get("state")}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, a.url("/logged-out")) {
		t.Errorf("%s: a second return with the state went on to %s (%v)", a.name, loc, err)
	}

	// Back-channel: Hydra called both apps. A had ended its session at
	// sign-out already.
	checkBackChannel(t, op, a, sa.SID)
	checkBackChannel(t, op, b, sb.SID)
	// Front-channel: Hydra's page framed both apps before it moved on to
	// A's return.
	checkFrontChannel(t, op, a, sa.SID)
	checkFrontChannel(t, op, b, sb.SID)
	if evs := a.logoutEvents(logout.ChannelRPInitiated); len(evs) != 1 || evs[0].Ended != 1 || evs[0].SID != sa.SID {
		t.Errorf("%s: RP-initiated events %+v", a.name, evs)
	}
	if n := a.ended(logout.ChannelBackChannel, logout.ChannelFrontChannel); n != 0 {
		t.Errorf("%s: the OP's channels ended %d sessions, want 0 (ended at sign-out)", a.name, n)
	}
	if nb, nf := b.ended(logout.ChannelBackChannel), b.ended(logout.ChannelFrontChannel); nb != 1 || nf != 0 {
		t.Errorf("%s: the back channel ended %d sessions and the front channel %d, want 1 and 0", b.name, nb, nf)
	}
	requireLoginRedirect(t, a, sa)
	requireLoginRedirect(t, b, sb)
}

// TestHydraLogoutAtOPChromium: the user logs out at Hydra itself (its
// end-session endpoint without id_token_hint, as a link on the OP's pages
// would); the logout app accepts, Hydra notifies both apps on both
// channels, and both sessions end.
func TestHydraLogoutAtOPChromium(t *testing.T) {
	ctx, op, a, b, sa, sb := signInPair(t, hydraAppSpec{name: "hydra-a"}, hydraAppSpec{name: "hydra-b"})
	logoutAtHydra(ctx, t, op, a.client.Metadata().EndSessionEndpoint)

	lo := waitHydra(t, op, "logout", hydraop.Named("logout", ""))
	if lo.RPInitiated || lo.ClientID != "" || lo.SID != sa.SID || lo.RequestURL != "/oauth2/sessions/logout" {
		t.Errorf("Hydra's logout request %+v, want one from no client, without parameters, for sid %s", lo, sa.SID)
	}
	for _, x := range []struct {
		app *hydraApp
		s   hydraSession
	}{{a, sa}, {b, sb}} {
		checkBackChannel(t, op, x.app, x.s.SID)
		checkFrontChannel(t, op, x.app, x.s.SID)
		if n := x.app.ended(logout.ChannelBackChannel, logout.ChannelFrontChannel); n != 1 {
			t.Errorf("%s: the OP's channels ended %d sessions, want 1", x.app.name, n)
		}
		requireLoginRedirect(t, x.app, x.s)
	}
}

// TestHydraSingleChannelChromium: A is registered at Hydra with its
// front-channel URI only, B with its back-channel URI only; a logout at
// Hydra ends each through its one channel.
func TestHydraSingleChannelChromium(t *testing.T) {
	ctx, op, front, back, sf, sb := signInPair(t,
		hydraAppSpec{name: "hydra-front", noBackChannel: true},
		hydraAppSpec{name: "hydra-back", noFrontChannel: true})
	logoutAtHydra(ctx, t, op, front.client.Metadata().EndSessionEndpoint)

	checkFrontChannel(t, op, front, sf.SID)
	if evs := front.logoutEvents(logout.ChannelFrontChannel); len(evs) != 1 || evs[0].Ended != 1 {
		t.Errorf("%s: front-channel events %+v, want one that ended the session", front.name, evs)
	}
	checkBackChannel(t, op, back, sb.SID)
	if evs := back.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Ended != 1 {
		t.Errorf("%s: back-channel events %+v, want one that ended the session", back.name, evs)
	}
	// Neither heard from the other channel. Hydra logged its back-channel
	// call to B after B answered, and its calls start together, so a call
	// to A would have been logged by now too.
	if calls := front.callsTo(http.MethodPost, "/backchannel-logout"); len(calls) != 0 {
		t.Errorf("%s: back-channel requests %+v, want none", front.name, calls)
	}
	for _, ev := range op.Events() {
		if strings.HasPrefix(ev.Name, "backchannel.") && ev.ClientID == front.name {
			t.Errorf("Hydra called %s's back-channel: %+v", front.name, ev)
		}
	}
	if calls := back.callsTo(http.MethodGet, "/frontchannel-logout"); len(calls) != 0 {
		t.Errorf("%s: front-channel requests %+v, want none", back.name, calls)
	}
	requireLoginRedirect(t, front, sf)
	requireLoginRedirect(t, back, sb)
}

// TestHydraLoginAfterLogoutChromium: after a sign-out of A, a tab of B
// left open on the ended session gets the login redirect when reloaded,
// not the page; the login that follows makes a new Hydra session and a
// new B session, a fresh login to A joins it, and a second sign-out ends
// both again.
func TestHydraLoginAfterLogoutChromium(t *testing.T) {
	ctx, op, a, b, sa, sb := signInPair(t, hydraAppSpec{name: "hydra-a"}, hydraAppSpec{name: "hydra-b"})
	// The stale tab: B's page in a second tab of the same browser.
	stale, cancelStale := chromedp.NewContext(ctx)
	defer cancelStale()
	browser.Do(stale, t, "open B in a second tab", chromedp.Navigate(b.url("/private")), chromedp.WaitVisible(chromedp.CSS("#signed-in")))
	if s := pageSession(stale, t, b); s.ID != sb.ID {
		t.Fatalf("second tab shows session %s, want %s", s.ID, sb.ID)
	}

	signOut(ctx, t, a)
	backChannelDone(t, op, b)
	if _, err := b.store.Get(t.Context(), sb.ID); err == nil {
		t.Fatalf("%s: session still present after the logout", b.name)
	}
	seen := len(b.callsTo(http.MethodGet, "/private"))
	logins := len(eventsNamed(op, "login"))

	browser.Do(stale, t, "reload the stale tab", chromedp.Reload())
	browser.WaitTruthy(stale, t, "a new session in the stale tab",
		`(() => { const p = document.getElementById("signed-in"); return p !== null && p.dataset.session !== `+jsString(sb.ID)+`; })()`)
	calls := b.callsTo(http.MethodGet, "/private")[seen:]
	if len(calls) < 1 || calls[0].Cookie != sb.Cookie || calls[0].Status != http.StatusSeeOther || calls[0].Location != "/login?return_to=%2Fprivate" {
		t.Fatalf("%s: the reload's request %+v, want the ended session's cookie answered with a redirect to /login", b.name, calls)
	}
	nb := pageSession(stale, t, b)
	newLogins := eventsNamed(op, "login")[logins:]
	if len(newLogins) != 1 || newLogins[0].Skip || newLogins[0].SID != nb.SID || nb.SID == sb.SID {
		t.Fatalf("Hydra's logins after the logout %+v, want one new login session (B now has sid %s, had %s)", newLogins, nb.SID, sb.SID)
	}

	// A fresh login to A joins the new Hydra session.
	na := browserLogin(ctx, t, a)
	if na.SID != nb.SID || na.ID == sa.ID {
		t.Errorf("%s: fresh session %+v, want a new session with sid %s", a.name, na, nb.SID)
	}
	// And a second sign-out ends both again.
	signOut(ctx, t, a)
	successes := 0
	waitHydra(t, op, "the second back-channel call to "+b.name, func(ev hydraop.Event) bool {
		if ev.Name == "backchannel.success" && ev.ClientID == b.name {
			successes++
		}
		return successes == 2
	})
	requireLoginRedirect(t, a, na)
	requireLoginRedirect(t, b, nb)
}

func eventsNamed(op *hydraop.Server, name string) []hydraop.Event {
	var out []hydraop.Event
	for _, ev := range op.Events() {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

// TestHydraLogoutTokenWithoutExp: what Hydra v2.3.0 sends to a
// back-channel URI (typ JWT, no exp: ory/hydra#4035), refused with 400 by
// slo's default and accepted with the one setting the README names,
// middleware.Config.Verifier.AllowMissingExp. No browser: both apps
// register their back-channel URI only, so Hydra's logout is redirects.
func TestHydraLogoutTokenWithoutExp(t *testing.T) {
	op, apps := startHydra(t,
		hydraAppSpec{name: "hydra-strict", noFrontChannel: true, strict: true},
		hydraAppSpec{name: "hydra-compat", noFrontChannel: true},
	)
	strict, compat := apps[0], apps[1]
	ua := oidcprovider.NewUserAgent()
	sessions := map[*hydraApp]string{}
	for _, a := range apps {
		page, err := ua.Get(t.Context(), a.url("/login?return_to=/private"))
		if err != nil || page.Status != http.StatusOK || page.URL.String() != a.url("/private") {
			t.Fatalf("%s: login ended at %v (%v)", a.name, page, err)
		}
		u, _ := url.Parse(a.srv.URL)
		for _, c := range ua.Client.Jar.Cookies(u) {
			if c.Name == a.cookieName() {
				sessions[a] = storeID(c.Value)
			}
		}
		if _, err := a.store.Get(t.Context(), sessions[a]); err != nil {
			t.Fatalf("%s: no session after login: %v", a.name, err)
		}
	}
	page, err := ua.Get(t.Context(), strict.client.Metadata().EndSessionEndpoint)
	if err != nil || page.URL.String() != op.UIURL()+hydraop.SignedOutPath {
		t.Fatalf("logout at Hydra ended at %v (%v)", page, err)
	}

	for _, a := range apps {
		backChannelDone(t, op, a)
		calls := a.callsTo(http.MethodPost, "/backchannel-logout")
		if len(calls) != 1 {
			t.Fatalf("%s: %d back-channel requests, want 1", a.name, len(calls))
		}
		// Exactly what Hydra sends.
		header, claims := decodeToken(t, calls[0].LogoutToken)
		if len(header) != 3 || header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] == nil {
			t.Errorf("%s: logout token header %v, want alg RS256, typ JWT and a kid", a.name, header)
		}
		var names []string
		for k := range claims {
			names = append(names, k)
		}
		slices.Sort(names)
		if want := []string{"aud", "events", "iat", "iss", "jti", "sid"}; !slices.Equal(names, want) {
			t.Errorf("%s: logout token claims %v, want exactly %v", a.name, claims, want)
		}
		if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != a.name {
			t.Errorf("%s: logout token aud %v", a.name, claims["aud"])
		}
		t.Logf("%s: Hydra's logout token: header %v, claims %v", a.name, header, claims)
	}

	// Default: refused with 400, and Hydra logs the failure; the session
	// stays.
	if ev := backChannelDone(t, op, strict); ev.Name != "backchannel.error" || !strings.Contains(ev.Error, "400") {
		t.Errorf("%s: Hydra logged %+v, want backchannel.error with 400", strict.name, ev)
	}
	if c := strict.callsTo(http.MethodPost, "/backchannel-logout")[0]; c.Status != http.StatusBadRequest {
		t.Errorf("%s: back-channel answered %d, want 400", strict.name, c.Status)
	}
	var ve *logout.ValidationError
	if evs := strict.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || !errors.As(evs[0].Err, &ve) || ve.Reason != logout.ReasonMissingExp || evs[0].Ended != 0 {
		t.Errorf("%s: back-channel events %+v, want one refusal for %s", strict.name, evs, logout.ReasonMissingExp)
	}
	if _, err := strict.store.Get(t.Context(), sessions[strict]); err != nil {
		t.Errorf("%s: session gone after a refused logout token: %v", strict.name, err)
	}

	// Verifier.AllowMissingExp: accepted; the session ends.
	if ev := backChannelDone(t, op, compat); ev.Name != "backchannel.success" {
		t.Errorf("%s: Hydra logged %+v, want backchannel.success", compat.name, ev)
	}
	if c := compat.callsTo(http.MethodPost, "/backchannel-logout")[0]; c.Status != http.StatusOK {
		t.Errorf("%s: back-channel answered %d, want 200", compat.name, c.Status)
	}
	if evs := compat.logoutEvents(logout.ChannelBackChannel); len(evs) != 1 || evs[0].Err != nil || evs[0].Ended != 1 {
		t.Errorf("%s: back-channel events %+v", compat.name, evs)
	}
	if _, err := compat.store.Get(t.Context(), sessions[compat]); err == nil {
		t.Errorf("%s: session still present after back-channel logout", compat.name)
	}
}
