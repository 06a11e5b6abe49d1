// Package interop holds slo's interoperability tests against node
// oidc-provider, an OpenID-certified OP, run by package oidcprovider.
//
// Against oidc-provider 9.x (final specifications):
//
//   - TestV9Login: code flow with PKCE through discovery; the ID token
//     carries sid.
//   - TestV9RPInitiatedLogout: the app's sign-out goes to the OP with
//     id_token_hint, post_logout_redirect_uri and state; the return with
//     the state is accepted; a prompt=none request afterwards gets
//     login_required.
//   - TestV9BackChannelTwoApps: one OP logout reaches two apps over the
//     back-channel; both sessions end and the OP records 200 for both.
//   - TestV9LogoutFromOtherApp: a logout started by another app ends this
//     app's session through the back-channel.
//
// Against oidc-provider 6.31.1 (drafts):
//
//   - TestV6DraftBackChannelTokens: its logout tokens (typ JWT, no exp) are
//     refused by default and accepted with logout.VerifierConfig's
//     AllowMissingExp.
//   - TestV6FrontChannelChromium: in chromium, the OP's logout page frames
//     the front-channel logout URIs of two apps (cross-site: the OP runs on
//     localhost, the apps on 127.0.0.1); both sessions end.
//   - TestV6CheckSessionIframeChromium: in chromium, the OP's
//     check_session_iframe answers "unchanged" for the session_state slo
//     kept, and "changed" after a logout at the OP (a bare RP page).
//   - TestV6SessionManagementChromium: in chromium, the middleware's
//     session check (SessionCheckSnippet) in an app without logout
//     channels: "unchanged" after login; after a logout at the OP in
//     another tab, or a sign-out of another app, the page sees "changed"
//     within about one polling interval, the prompt=none re-check gets
//     login_required, the session ends server-side with a
//     session-management logout event, and the page reloads signed out.
//
// The apps are the middleware with an in-memory store, plus the logout
// package's back- and front-channel handlers. The tests need node and the
// npm packages (see package oidcprovider), and chromium for the browser
// tests; they skip without them, and fail when CI=true.
package interop
