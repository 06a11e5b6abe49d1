// Package e2etest holds the small helpers the real-browser tests share:
// listening on a loopback alias, serving a handler for the length of a
// test, a test logger and a session store that reports what it creates.
package e2etest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/testlog"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// Listen listens on a free port of host. A host that cannot be bound (a
// loopback alias such as 127.0.0.2 on a system without them) skips the test
// outside CI and fails it in CI.
func Listen(t *testing.T, host string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot listen on %s: %v", host, err)
		}
		t.Skipf("cannot listen on %s (loopback aliases needed): %v", host, err)
	}
	return ln
}

// Serve serves h on ln until the test ends.
func Serve(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ErrServerClosed at cleanup
	t.Cleanup(func() { srv.Close() })
}

// Logger logs warnings and errors to the test's output, until the test
// ends (internal/testlog).
func Logger(t *testing.T) *slog.Logger {
	return testlog.Logger(t, slog.LevelWarn)
}

// RecordingStore is a memstore that sends a copy of every session it
// creates on Created.
type RecordingStore struct {
	*memstore.Store
	Created chan *sessionstore.Session
}

// NewRecordingStore returns an empty RecordingStore.
func NewRecordingStore() *RecordingStore {
	return &RecordingStore{Store: memstore.New(memstore.Config{}), Created: make(chan *sessionstore.Session, 16)}
}

// Create implements sessionstore.Store.
func (s *RecordingStore) Create(ctx context.Context, in *sessionstore.Session) error {
	err := s.Store.Create(ctx, in)
	if err == nil {
		s.Created <- in.Clone()
	}
	return err
}

// DecodeJWT returns the header and payload of a compact JWS without
// verifying it.
func DecodeJWT(t *testing.T, jws string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	for i, v := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}
