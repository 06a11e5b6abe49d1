// Package hydraop runs Ory Hydra v2, an OpenID-certified OP written in Go,
// as a child process for slo's interop tests.
//
// Hydra is pinned in its own module, internal/e2e/hydra, through a tool
// directive, so that its large dependency graph stays out of every other
// module. Start builds it once per test binary with
//
//	GOWORK=off go tool -n hydra   (run in internal/e2e/hydra)
//
// which compiles it into the Go build cache on first use (about a minute and
// a half on a two-core machine, module downloads included) and then only
// prints the cached binary's path.
//
// Each Start then
//
//   - creates a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres,
//     connecting to the database test; $PG_DSN overrides, as for pgstore's
//     tests) and runs hydra migrate sql up on it;
//   - starts hydra serve all --dev on two free loopback ports, public and
//     admin, and waits until both answer /health/ready;
//   - serves the login, consent and logout apps Hydra needs (it has no UI of
//     its own) on an httptest server: they accept every challenge through
//     Hydra's admin API, signing in the configured subject ("alice");
//   - stops Hydra by its process id and drops the database when the test
//     ends; on failure the test log gets Hydra's output.
//
// Without the go command, a reachable module proxy (for the first build) or
// PostgreSQL the test is skipped, or fails when CI=true.
//
// A test registers its applications with [Server.Register], typically from
// the registration JSON an slo application serves ([FetchRegistration]):
//
//	op := hydraop.Start(t, hydraop.Options{})
//	reg, err := hydraop.FetchRegistration(ctx, app.URL+"/.well-known/oidc-client")
//	reg.Secret = "app-secret"
//	err = op.Register(ctx, reg)
//
// What the OP did is reported as [Event]s: the login, consent and logout
// apps report each challenge they accepted (a logout event carries the
// request Hydra received at its end-session endpoint), and Hydra's log
// reports the outcome of each back-channel logout call. Tests wait for them
// with [Server.WaitEvent].
//
// # Configuration
//
// Every URL points at loopback. The issuer is http://localhost:PORT by
// default, so that Hydra's logout page frames applications on 127.0.0.1
// cross-site, as in production. Hydra runs with --dev, which it needs for an
// http issuer ("issuer URL scheme must be HTTPS unless development mode is
// enabled") and for its cookies to work over http (without dev they are
// Secure). Hydra v2.3.0 accepts http and loopback back-channel URIs: it
// checks back-channel URIs only against private IP ranges, and only when
// clients.http.disallow_private_ip_ranges is true, which is its default
// false (set explicitly here). See config.go.
package hydraop
