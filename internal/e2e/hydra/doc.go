// Package hydra is only documentation: this module pins Ory Hydra v2.3.0,
// an OpenID-certified OP, for slo's interop tests.
//
// Hydra's dependency graph is large, so it lives in this module of its own,
// through the tool directive in go.mod, and in no other; the module stays
// out of the repository's workspace (go.work), so every go command here
// runs with GOWORK=off. Package internal/e2e/hydraop builds it with
//
//	GOWORK=off go tool -n hydra
//
// run in this directory, which compiles Hydra into the Go build cache on
// first use and afterwards only prints the cached binary's path.
//
// Hydra's own go.mod replaces github.com/gobuffalo/pop/v6 with Ory's fork;
// a dependent module must repeat that replace (replaces in dependencies are
// ignored), or the build fails in Hydra's persistence/sql package.
//
// To move to another Hydra release:
//
//	GOWORK=off go get -tool github.com/ory/hydra/v2@vX.Y.Z
//
// then copy the release's replace of pop into go.mod and run
// GOWORK=off go mod tidy.
package hydra
