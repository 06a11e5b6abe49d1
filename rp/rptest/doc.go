// Package rptest provides an OpenID Provider for testing relying parties:
// an application's login and logout, in go test, with no real OP. It is to
// OpenID Connect what net/http/httptest is to HTTP.
//
// A [Server] is a small OP on a loopback port that follows the
// specifications slo implements: discovery, the authorization code flow
// with PKCE, ID tokens, userinfo, refresh and revocation, RP-Initiated
// Logout, Back-Channel Logout (with errata 1), Front-Channel Logout and
// Session Management. It signs users in without asking: a browser that
// has no session at the OP is signed in at once as the current user
// ([Options.User], [Server.SetUser]; "alice" by default). It serves plain
// http and keeps everything in memory. It is for tests only.
//
// The package imports none of slo's other public packages, so their tests
// and applications built on any OpenID Connect library can use it.
//
// # Setting up
//
// Start the OP first (the application's OIDC client reads its discovery
// document when it starts), then the application with [Server.Issuer] as
// its issuer, then register the application at the OP. An application
// built on slo registers the document its middleware produces, with the
// client secret given separately:
//
//	op := rptest.NewServer(rptest.Options{})
//	t.Cleanup(op.Close)
//	mux := http.NewServeMux()
//	app := httptest.NewServer(mux)
//	t.Cleanup(app.Close)
//	client, err := rp.New(ctx, rp.Config{
//		Issuer:       op.Issuer(),
//		ClientID:     "my-app",
//		ClientSecret: "s3cret",
//		RedirectURL:  app.URL + "/callback",
//	})
//	// ... check err, then middleware.New(middleware.Config{Client: client}),
//	// auth.Register(mux) and the application's own routes on mux ...
//	reg, err := json.Marshal(auth.Registration())
//	// ... check err ...
//	if err := op.RegisterJSON(reg, "s3cret"); err != nil {
//		t.Fatal(err)
//	}
//
// Any other application registers a [Client] with [Server.Register].
//
// # Signing in
//
// [NewBrowser] returns an http.Client with a cookie jar that marks its
// requests as page navigations (Accept: text/html,...), which is how
// slo's RequireLogin, like most login middleware, tells a browser that
// can be sent to log in from a script that gets 401. To sign in, GET a
// protected page (or the application's login path): the application
// redirects to the OP, the OP signs the user in without asking and
// redirects back, the application creates its session and redirects to
// the page, and the response is that page.
//
//	browser := rptest.NewBrowser()
//	resp, err := browser.Get(app.URL + "/account") // now signed in as alice
//
// The browser keeps its OP session, so that signing in to a second
// application through it is single sign-on. To sign in as someone else,
// call SetUser and use a new browser. To find out whether the application
// still has a session without signing in again, ask as a script does: with
// Accept: application/json set on the request, RequireLogin answers 401
// instead of starting a login.
//
// # Logging out
//
// [Server.EndSession] is "the user logged out at the OP": it ends the
// user's OP sessions, POSTs a logout token to the backchannel_logout_uri
// of every application that signed in through them, and returns a
// [Logout] holding what each application answered and the front-channel
// logout URLs (with iss and sid) that the OP's logout page would load in
// iframes; GET those with the browser to test front-channel logout. A
// sign-out started in the application (RP-Initiated Logout) reaches the
// OP's end-session endpoint in the browser; the OP does the same there,
// and [Server.Logouts] tells what it did. When an application registered
// a frontchannel_logout_uri, the browser stops at the OP's front-channel
// logout page, which needs JavaScript: GET the Logout's FrontChannelURLs
// and then its PostLogoutRedirectURL to go on as a browser would.
//
// # Negative tests
//
// [Server.LogoutToken] mints a logout token as the OP sends it, and
// [TokenOption] values break it: [WithClaim] (no exp, expired, another
// audience, a forbidden nonce, ...), [WithType] and [WithForeignKey].
// [Server.SendLogoutToken] POSTs one to an application and returns its
// answer. Options such as [Options.LegacyLogoutTokens] (tokens without
// exp, as OPs built before 2023 send them), [Options.NoCheckSession] and
// [Options.NoEndSession] make the OP itself behave like older or smaller
// ones, and [Options.Now] sets its clock.
package rptest
