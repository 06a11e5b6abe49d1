// Package testlog gives slo's tests a logger that writes to a test's output
// until the test ends and drops what comes later. The middleware does some
// work in the background (revoking the refresh tokens of ended sessions),
// which may log after the test that caused it has finished; writing to a
// finished test's output is a data race.
package testlog

import (
	"log/slog"
	"sync"
	"testing"
)

// Writer writes to a test's output until the test ends.
type Writer struct {
	mu    sync.Mutex
	t     testing.TB
	ended bool
}

// New returns a Writer for t. It stops writing when t's cleanups reach it:
// before the cleanups t registered earlier (closing an OP, a server) run.
func New(t testing.TB) *Writer {
	w := &Writer{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.ended = true
	})
	return w
}

// Write writes p to the test's output, or drops it once the test ended.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return len(p), nil
	}
	return w.t.Output().Write(p)
}

// Logger returns a text logger at level that writes through New(t).
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(New(t), &slog.HandlerOptions{Level: level}))
}
