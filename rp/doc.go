// Package rp is the OpenID Connect client (relying party) of slo: discovery,
// login with the authorization code flow, PKCE, state and nonce, ID token
// validation, token refresh and revocation, and the request that starts
// RP-initiated logout.
//
// A [Client] talks to one OP. [New] validates a [Config] and runs
// discovery:
//
//	c, err := rp.New(ctx, rp.Config{
//		Issuer:                "https://op.example",
//		ClientID:              "app",
//		ClientSecret:          secret,
//		RedirectURL:           "https://app.example/callback",
//		PostLogoutRedirectURL: "https://app.example/logged-out",
//	})
//
// Every URL the client calls or sends the browser to, configured or
// discovered, must use https (OpenID Connect Core 1.0 §16.17), except on a
// loopback host. Config.InsecureAllowHTTP lifts that for development
// setups such as an OP at http://keycloak:8080; New logs at Error when it
// is set.
//
// With Config.DeferDiscovery, New returns a Client even if the OP cannot
// be reached yet, and discovery is retried on demand, with backoff, by the
// calls that need the OP; no goroutine runs in the background. Until it
// succeeds those calls return an [*UnavailableError] (matching
// [ErrOPUnavailable]) that says when to retry, and [Client.Ready] is the
// one call a handler needs to answer 503 with Retry-After:
//
//	if err := c.Ready(r.Context()); err != nil {
//		var ue *rp.UnavailableError
//		if errors.As(err, &ue) {
//			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ue.RetryAfter.Seconds()))))
//		}
//		http.Error(w, "try again shortly", http.StatusServiceUnavailable)
//		return
//	}
//
// Login returns the authorization URL and a [LoginState] to keep, bound to
// the browser, until the callback:
//
//	authURL, st, err := c.Login(rp.Prompt("login"))
//	// save st (sealed cookie or server-side), redirect to authURL
//
// Callback checks the response against the state (state first, then
// RFC 9207 iss, then error responses), exchanges the code and validates
// the ID token ([Client.VerifyIDToken] lists the checks):
//
//	res, err := c.Callback(ctx, r.URL.Query(), st)
//	// res.Issuer, res.Subject, res.SID index the new server-side session;
//	// keep res.RawIDToken for id_token_hint
//
// To end the session at the OP, redirect to [Client.EndSessionURL] or
// write the self-submitting form of [Client.WriteEndSessionForm]:
//
//	u, err := c.EndSessionURL(rp.LogoutParams{IDTokenHint: raw, State: s})
//
// The end-session endpoint is used exactly as the OP (or
// Config.EndSessionURL) gives it, its own query kept byte for byte, and the
// logout parameters are appended (RP-Initiated Logout 1.0 §2.1). An
// endpoint whose query already sets one of them is refused by New, so that
// no request carries two values of state or post_logout_redirect_uri.
//
// The OP's signing keys are a [KeySet], cached and refetched (rate-limited)
// on key rotation and after a maximum age (the JWKS response's
// Cache-Control max-age within 1 minute to Config.JWKSMaxAge, 24 h by
// default), so removed keys stop being trusted; the logout package verifies
// logout tokens with the same KeySet. Only the algorithms in
// Config.SigningAlgs are accepted.
//
// Errors callers branch on are sentinels ([ErrState], [ErrIssuer],
// [ErrInvalidIDToken], [ErrNoEndSessionEndpoint], [ErrNoRevocationEndpoint],
// [ErrOPUnavailable]) and the typed [*AuthError] and [*UnavailableError].
package rp
