// Package oidcprovider runs node oidc-provider, an OpenID-certified OP, as a
// child process for slo's interop tests.
//
// Two pinned versions live next to this package, each an npm project with a
// lockfile and a small provider script:
//
//   - v9/ (oidc-provider 9.x, provider.mjs): RP-initiated logout and
//     back-channel logout as finally specified (logout+jwt tokens with exp).
//   - v6/ (oidc-provider 6.31.1, provider.js): the last version with
//     front-channel logout (draft 04) and session management (draft 30); its
//     back-channel logout tokens follow draft 06 (typ JWT, no exp).
//
// What the two scripts share (configuration input, the READY and EVENT
// output lines, start-up, clients, keys, auto-confirmed logout) is in
// common.cjs beside them; only what the library versions do differently
// stays in each script.
//
// Install their packages once with
//
//	npm ci --prefix internal/e2e/oidcprovider/v9
//	npm ci --prefix internal/e2e/oidcprovider/v6
//
// A test then starts an OP with its clients:
//
//	op := oidcprovider.Start(t, oidcprovider.Options{
//		Version: oidcprovider.V9,
//		Clients: []oidcprovider.Client{{
//			ID: "app", Secret: "secret",
//			RedirectURIs: []string{app.URL + "/callback"},
//			BackChannelLogoutURI: app.URL + "/backchannel-logout",
//			BackChannelLogoutSessionRequired: true,
//		}},
//	})
//	client, err := rp.New(ctx, rp.Config{Issuer: op.Issuer(), ...})
//
// Start picks a free loopback port, waits for the script's READY line and
// stops the process when the test ends; on failure the test log gets the
// process output. Without node or the installed packages the test is skipped,
// or fails when CI=true.
//
// The OP needs no UI: its interaction endpoint logs the configured account in
// (or the authorization request's login_hint) and consents to everything, and
// its logout prompt submits itself. A [UserAgent] (an http.Client with a
// cookie jar) walks those steps as a browser would; [UserAgent.Authorize] stops
// at the redirect to the RP. The OP reports what it did on stdout; [Provider]
// parses those reports into [Event]s, which tests wait for with
// [Provider.WaitEvent] (for example that a back-channel logout call
// succeeded).
package oidcprovider
