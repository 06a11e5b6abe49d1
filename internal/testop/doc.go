// Package testop is a small OpenID Provider for slo's tests and demo.
//
// It is a TEST OP: it logs users in without asking, keeps everything in
// memory, serves plain http and lets tests forge tokens. Never use it in
// production.
//
// What it implements, faithfully enough for a relying party to be tested
// against it:
//
//   - Discovery (/.well-known/openid-configuration) and a JWKS with an
//     RS256 (2048-bit) and an ES256 key, rotatable (RotateKeys,
//     RetireOldKeys).
//   - The authorization endpoint for the code flow with PKCE (S256 only,
//     always required). A browser without an OP session is logged in at
//     once as the current user (SetUser, default "alice") or login_hint;
//     prompt=none never logs in and answers login_required, as it does
//     when id_token_hint names another user. Responses carry iss (RFC 9207)
//     and session_state (Session Management 1.0), errors included.
//   - The token endpoint (authorization_code, refresh_token with rotation;
//     client_secret_basic, client_secret_post, or none for public clients),
//     revocation (RFC 7009) and a minimal userinfo endpoint.
//   - RP-Initiated Logout (end_session, GET and POST), Back-Channel Logout
//     delivery (errata 1 logout tokens, or the pre-2023 form with
//     Config.LegacyLogoutTokens), Front-Channel Logout iframes and the
//     Session Management check_session_iframe.
//   - Client authentication as registered (Client.TokenEndpointAuthMethod),
//     profile claims per subject that can change at run time (SetProfile),
//     and a record of every logout (Logouts, EndSessionLogout): the sids
//     ended, the back-channel deliveries, the front-channel URLs and the
//     post-logout redirect.
//   - Minting for negative tests: SignIDToken, SignLogoutToken and
//     LogoutClaims with options for the algorithm (including "none"), a
//     foreign key (ForeignKey), arbitrary JOSE headers, no kid, and JWE
//     wrapping; SetIDTokenHook and SetIDTokenSignOptions tamper with the ID
//     tokens the token endpoint issues.
//
// Package rp/rptest is the public, stable face of this OP for the tests of
// slo's users; what only slo's own tests need (forging, key rotation, hooks)
// stays here.
//
// Not implemented: consent, max_age and acr_values (ignored), response
// modes other than query, request objects, dynamic registration, pairwise
// subjects, encrypted ID tokens from the token endpoint (mint them with
// WithEncryption instead).
//
// # Sessions
//
// Each browser gets an HttpOnly OP session cookie (testop_session). An OP
// session has one sid, shared by every client that logged in through it
// (the sid identifies the OP session, as the specifications say); tests can
// force the next sid with SetNextSID or Config.SIDFunc, e.g. to values with
// spaces, &, #, %, + or quotes. Ending an OP session (end_session in the
// browser, or EndSession from a test) notifies every client that logged in
// through it: back-channel POSTs are made server-side, concurrently, and
// waited for before the browser is sent on; the front-channel page loads
// one iframe per frontchannel_logout_uri and waits for them (bounded by
// Config.FrontChannelTimeout) before redirecting to the validated
// post_logout_redirect_uri.
//
// # Browser state and cookies
//
// The OP browser state of Session Management 1.0 is kept per OP session and
// mirrored in a JavaScript-readable cookie, testop_bs. The check_session
// iframe recomputes session_state with a small embedded pure-JS SHA-256
// (crypto.subtle needs a secure context, and hosts such as 127.0.0.2 are
// not one). It asks the OP for the current browser state with a same-origin
// fetch of /check_session/state, so that a session ended from a test with
// EndSession is noticed, and falls back to the cookie if that fails.
//
// Both cookies are SameSite=Lax by default (Config.CookieSameSite,
// Config.CookieSecure). Lax cookies reach the OP's iframes only when the
// embedding page is same-site with the OP, so run the OP and the apps on the
// same host name with different ports ("localhost" and "127.0.0.1" are
// different sites). Cross-site, the check_session iframe sees no OP session
// and answers "changed" every time: the false positive of Session
// Management §5.1. SameSite=None does not help over http: it needs Secure,
// and although Chromium accepts Secure cookies from http://localhost,
// headless Chromium (156) does not send them to a third-party iframe.
// prompt=none requests made at top level carry Lax cookies in any case.
//
// # Use
//
//	op := testop.NewServer(t, testop.Config{Clients: []testop.Client{{
//		ID: "app", Secret: "secret",
//		RedirectURIs:           []string{"http://127.0.0.1:8080/callback"},
//		PostLogoutRedirectURIs: []string{"http://127.0.0.1:8080/logged-out"},
//		BackChannelLogoutURI:   "http://127.0.0.1:8080/backchannel-logout",
//	}}})
//	// ... run the app against op.Issuer() ...
//	deliveries := op.EndSession(ctx, "alice") // "logged out at the OP elsewhere"
package testop
