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
//     case-insensitively or by Unicode simple folding ("SID", "Sid" or "ſid"
//     beside or instead of "sid"), and with a value that is valid UTF-8 as
//     written and once unescaped (RFC 8259 §8.1; an escaped lone surrogate
//     such as \ud800 is refused too). encoding/json, which [Token.Claims]
//     and most JWT libraries use, would take the last of such members and
//     turn invalid UTF-8 into U+FFFD; refusing these tokens
//     ([ReasonMalformed]) makes every reader of a token agree with the
//     verifier. Back-Channel Logout §2.4 says claims that are not understood
//     are ignored; such a name is refused because encoding/json does
//     understand it, as the claim it folds to. ID tokens are held to the
//     same rule by [rp.Client.VerifyIDToken], so a session is stored under
//     exactly the sid and sub a logout token names.
//   - NumericDates must be non-negative and before the year 10000.
//   - jku, x5u and embedded jwk headers are never used to find keys; a crit
//     header is refused, since no extension is understood.
//
// A [BackChannelHandler] is the endpoint (Back-Channel Logout §2.5–2.8). It
// answers:
//   - 200 with an empty body when the token is valid and its sessions were
//     ended: those of (iss, sid) when the token has a sid, else every
//     session of (iss, sub). Sessions that were already gone count as
//     ended.
//   - 400 with an OAuth-style JSON error ({"error":"invalid_request",...},
//     the same generic body every time) when the request or the token is
//     invalid, the token was already accepted (a replay), or the logout
//     failed (a store failure, which the OP may retry). A request is
//     invalid unless its Content-Type is application/x-www-form-urlencoded
//     and its body, which url.ParseQuery must parse without error, holds
//     exactly one non-empty logout_token. Other parameters are ignored, and
//     so is the query string. When the token names both sid and sub and
//     the store implements [sessionstore.SIDSubjectDeleter] (all of slo's
//     stores do), a sid with a live session of another subject is refused
//     too ([ReasonSubjectMismatch]), and nothing is ended.
//   - 405 with Allow: POST for any other method.
//   - 413 for a body over [BackChannelConfig.MaxBodyBytes] (64 KiB by
//     default).
//
// Every answer carries Cache-Control: no-store. The work after verification
// runs on a context that the OP hanging up cannot cancel, bounded by
// [BackChannelConfig.StoreTimeout].
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
// relying party's frontchannel_logout_uri in an iframe with GET, usually
// with iss and sid query parameters. A [FrontChannelHandler] answers:
//   - GET with iss and sid: iss must equal a trusted issuer byte for byte,
//     else 400 and nothing ends. The sessions of (iss, sid) are found and
//     ended in the store, never through the cookie, and the answer is 200
//     whether there were any or not: a session already logged out counts
//     as logged out, and a sid that never existed cannot be told apart from
//     one. The cookie that came with the request is cleared only if its
//     session was one of them.
//   - GET with only one of iss and sid, either of them repeated or empty,
//     or a query url.ParseQuery refuses: 400, nothing ends.
//   - GET with neither: 400 and nothing ends, unless
//     [FrontChannelConfig.AllowCookieLogout] is set; then the session of the
//     cookie that came with the request, if any, is ended and the cookie
//     cleared, 200, unless the browser says the request is not framed
//     (Sec-Fetch-Dest other than iframe or frame): 400.
//   - HEAD: the status and headers GET would get, without a body; HEAD is
//     safe (RFC 9110 §9.3.2), so it ends nothing, records nothing, clears no
//     cookie and emits no event.
//   - Any other method: 405 with Allow: GET, HEAD.
//   - A store failure: 500 (the specification defines no failure status,
//     and the OP's iframe cannot act on one; 500 keeps the failure visible to
//     monitoring), logged at Error.
//
// Every answer is a small fixed page that never reflects the request, with
// Cache-Control: no-cache, no-store and a Content-Security-Policy of
// default-src 'none' whose frame-ancestors lists the OP origins
// ([FrontChannelConfig.FrameAncestors]); X-Frame-Options is never sent,
// since it would stop the OP from framing it. Every 200 is the same page:
// unless [FrontChannelConfig.KeepStorage] is set, it carries an inline
// script, allowed by its CSP hash, that clears localStorage and
// sessionStorage (§2), whether or not the request ended a session, so the
// answer tells a framing page nothing about the sessions.
//
// Logout CSRF: any site can frame the URI. With iss and sid a request ends
// something only when it knows the OP's sid. Without them it ends nothing,
// unless AllowCookieLogout is set; then it ends the cookie's session only
// when the browser sends the cookie in a cross-site iframe, which
// SameSite=Lax and SameSite=Strict cookies prevent, and a top-level
// cross-site navigation (which does carry Lax cookies) is refused by its
// Sec-Fetch-Dest.
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
// The handlers report each logout attempt as exactly one [Event] to the
// optional [Hook]: the channel, issuer, sid, subject, how many sessions
// ended, and the error, if any (a refusal's wraps a *[ValidationError] or
// [ErrFrontChannelRefused]). The back-channel handler emits one for every
// POST with a well-formed form and one logout_token; the front-channel
// handler one for every request except HEAD, refused ones included. They
// log through log/slog: refusals at Warn with their reason, store and
// single-use failures at Error, successes at Info. Tokens never appear in
// logs, events, errors or responses; [Token] has a LogValue that shows only
// its identifying claims.
package logout
