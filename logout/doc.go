// Package logout ends relying-party sessions when the OpenID Provider says
// the user has logged out: it verifies back-channel logout tokens, serves the
// back-channel and front-channel logout endpoints, remembers which tokens it
// has already accepted, and reports every logout as a typed [Event].
//
// Sessions are kept server-side in a [sessionstore.Store] and found by the
// OP's session id or subject, scoped by issuer, because a logout request from
// the OP carries no usable browser cookie. Every handler here is
// idempotent: ending a session that is already gone is success.
//
// # Back-channel logout
//
// OpenID Connect Back-Channel Logout 1.0 (with errata set 1, 2023): the OP's
// server POSTs a signed logout token to the relying party's
// backchannel_logout_uri. A [Verifier] checks the token in the order of the
// specification's §2.6 (see [Verifier.Verify]): decryption when the token is
// a JWE, the signature with the issuer's published keys only, the algorithm
// pinned per OP ("none" never), iss, aud, azp, iat, exp, nbf, sub/sid,
// events, the absence of nonce, and jti. It trusts several OPs at once: the
// token's iss selects the [Provider], and only that provider's keys,
// algorithms and client_id are used. [ProviderFromClient] builds a Provider
// from an [rp.Client], sharing its JWKS cache. Refusals are
// *[ValidationError] values with a stable Reason.
//
// Deliberate choices:
//   - "typ" is checked by a [TypPolicy]: by default no typ, "JWT",
//     "logout+jwt" and "application/logout+jwt" are accepted and any other
//     explicit typ (such as "at+jwt") is refused; [TypStrict] requires
//     logout+jwt.
//   - iat must lie within [VerifierConfig.MaxAge] (default 5 minutes) plus
//     the clock skew (default 60 s), even when exp is later. exp is required
//     unless [VerifierConfig.AllowMissingExp] accepts tokens from OPs built to
//     the 2022 text; MaxAge then bounds their life.
//   - The payload must be a JSON object in which each claim the verifier
//     reads (iss, sub, sid, aud, azp, iat, exp, nbf, jti, events, nonce)
//     appears at most once, with no other member whose name matches it
//     case-insensitively or by Unicode simple folding ("SID", "Sid" or
//     "ſid" beside or instead of "sid"), and with a value that is valid
//     UTF-8 as written and once unescaped (RFC 8259 §8.1; an escaped lone
//     surrogate such as \ud800 is refused too). encoding/json, which
//     [Token.Claims] and most JWT libraries use, would take the last of
//     such members and turn invalid UTF-8 into U+FFFD; refusing these
//     tokens ([ReasonMalformed]) makes every reader of a token agree with
//     the verifier. (Back-Channel Logout §2.4 says claims that are not
//     understood are ignored; such a name is refused because encoding/json
//     does understand it, as the claim it folds to.) ID tokens are held to the same rule by
//     [rp.Client.VerifyIDToken], so a session is stored under exactly the
//     sid and sub a logout token names. NumericDates must be non-negative
//     and before the year 10000.
//   - jku, x5u and embedded jwk headers are never used to find keys; a crit
//     header is refused, since no extension is understood.
//
// A [BackChannelHandler] is the endpoint. It accepts only POST with an
// application/x-www-form-urlencoded body (bounded, 64 KiB by default) holding
// exactly one non-empty logout_token, verifies the token, refuses a replay,
// and ends the sessions: those of (iss, sid) when the token has a sid, else
// every session of (iss, sub). It answers exactly 200 (empty body) on
// success, including when no session was left to end; 400 with an OAuth-style
// JSON error for an invalid request or token or a failed logout (a store
// failure); 405 with Allow: POST for other methods; and 413 for an oversized
// body. Every response carries Cache-Control: no-store. The work after
// verification runs on a context that the OP hanging up cannot cancel,
// bounded by [BackChannelConfig.StoreTimeout]. When the token names both sid
// and sub and the store implements [sessionstore.SIDSubjectDeleter] (all of
// slo's stores do), a sid with a live session of another subject is refused
// with 400 and nothing is ended.
//
// In use, next to the [rp.Client] the application logs in with:
//
//	verifier, err := logout.NewVerifier(logout.VerifierConfig{
//		Providers: []logout.Provider{logout.ProviderFromClient(client)},
//	})
//	...
//	bc, err := logout.NewBackChannelHandler(logout.BackChannelConfig{
//		Verifier: verifier,
//		Store:    store,
//		OnLogout: func(ctx context.Context, e logout.Event) { metrics.Count(e) },
//	})
//	...
//	mux.Handle("/backchannel-logout", bc) // no method in the pattern: bc answers 405 itself
//
// The middleware package does this wiring for you.
//
// # Front-channel logout
//
// OpenID Connect Front-Channel Logout 1.0: the OP's logout page loads the
// relying party's frontchannel_logout_uri in an iframe, with iss and sid. A
// [FrontChannelHandler] checks that iss is trusted, ends the sessions of
// (iss, sid) (or, when allowed, the session of the cookie that came with the
// request) and answers with a small page that only the OP may frame.
//
// # Single use and logouts under way
//
// The back-channel handler records the (iss, jti) of every accepted logout
// token in a [sessionstore.SingleUse] (namespace
// [sessionstore.LogoutTokens]) until the verifier would refuse the token
// anyway (its exp plus skew, or the end of its iat window, whichever is
// first), and refuses a token whose jti is recorded. A jti is recorded only
// after the token is fully valid, and forgotten again if its sessions could
// not be ended, so that the OP's retry is not refused. The default is an
// in-memory one for this process; replicas behind a load balancer share the
// redisstore or pgstore one. When it fails, the token is refused (400)
// unless [BackChannelConfig.SingleUseFailOpen] is set.
//
// Both handlers record each logout in the store
// ([sessionstore.Store.RecordLogout]) before they end its sessions, and
// keep the record for the login timeout: a login that was under way when
// the logout arrived finds it and creates no session (the middleware
// package does this check).
//
// # Events and logs
//
// Every request that reaches the point of ending sessions (for the
// back-channel handler: every POST with a well-formed form and one
// logout_token) produces exactly one [Event] for the optional [Hook]: the
// channel, issuer, sid, subject, how many sessions ended, and the error, if
// any. Handlers log through log/slog: refusals at Warn with their reason,
// store and cache failures at Error, successes at Info. Tokens never appear
// in logs, events, errors or responses; [Token] has a LogValue that shows
// only its identifying claims.
package logout
