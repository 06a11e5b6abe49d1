package storetest_test

import (
	"testing"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// A store backed by a server whose clock cannot be moved needs only New.
// This is what a store's test file contains (here for the in-memory store).
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		storetest.Run(t, storetest.Config{
			New: func(t *testing.T) sessionstore.Store {
				// Connect to the server here; t.Cleanup can close it.
				return memstore.New(memstore.Config{})
			},
		})
	}
}
