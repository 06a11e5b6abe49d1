// Package tools pins the developer tools that make test runs, through the
// tool directives of this module's go.mod, so that their dependencies stay
// out of the library's modules: `go tool -n staticcheck`, run in this
// directory with GOWORK=off, builds staticcheck (once; later runs find it
// in the build cache) and prints the path of the binary, which make test
// then runs in each module. The module stands outside the workspace
// (go.work): staticcheck's dependencies would otherwise raise the versions
// the workspace selects for the library's modules (golang.org/x/sys, for
// one).
package tools
