package middleware_test

import (
	"testing"

	"github.com/oidc-slo/slo/internal/racetest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// TestLogoutDuringLogin runs the login/logout race scenarios on memstore;
// the cluster example runs them on Redis and PostgreSQL.
func TestLogoutDuringLogin(t *testing.T) {
	racetest.Run(t, func(*testing.T) (sessionstore.Store, sessionstore.SingleUse) {
		return memstore.New(memstore.Config{}), memstore.NewSingleUse(memstore.SingleUseConfig{MaxPerNamespace: racetest.FloodRoom})
	})
}
