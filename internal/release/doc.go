// Package release checks that slo's modules can be released: that a user
// who runs go get on them, through a module proxy, gets a build that works.
//
// Its tests, run by make test, are the checks; the package's functions are
// what they share:
//
//   - TestRequirements: no go.mod in the repository names a version of an
//     slo module that a proxy could not serve (v0.0.0, a pseudo-version, a
//     version after [Next]) or replaces an slo module.
//   - TestInstallFromProxy: [WriteProxy] serves the working tree's published
//     modules at [Next] from a file-system module proxy; a new module outside
//     the repository, with GOWORK=off, gets them from it with go get and
//     builds README.md's program with a redisstore and a pgstore store.
//   - TestTidy: go mod tidy would change no go.mod or go.sum of the
//     repository (it reports the changes it would make; nothing is written).
//
// RELEASING.md says how a release is cut and where [Next] comes in.
package release

// Next is the version the next release gives every published module (see
// [Module.Published]): the version the file-system proxy serves the working
// tree as, and the highest version of an slo module a go.mod may require.
// RELEASING.md says when to change it.
const Next = "v0.1.0"
