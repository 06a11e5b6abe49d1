package main

import (
	"testing"

	"github.com/oidc-slo/slo/internal/racetest"
	"github.com/oidc-slo/slo/sessionstore"
)

// TestLogoutDuringLogin runs the login/logout race scenarios of
// internal/racetest (a logout from the OP is never undone by a login that
// was under way, and no login after a logout is refused) through the
// middleware on Redis and on PostgreSQL; the core module runs them on
// memstore.
func TestLogoutDuringLogin(t *testing.T) {
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			racetest.Run(t, func(t *testing.T) (sessionstore.Store, sessionstore.SingleUse) {
				s := newSharedStore(t, kind)
				b, err := openBackend(t.Context(), s.url, s.prefix)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(b.Close)
				return b.Store, b.SingleUse
			})
		})
	}
}
