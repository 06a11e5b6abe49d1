package testlog_test

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/testlog"
)

// fakeTB is a test whose output and cleanups the test sees.
type fakeTB struct {
	testing.TB
	out      bytes.Buffer
	cleanups []func()
}

func (f *fakeTB) Output() io.Writer { return &f.out }
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// end runs the cleanups, last registered first, as testing does.
func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestDropsAfterTheTestEnds: what is logged while the test runs reaches its
// output; what is logged once its cleanups ran is taken and dropped.
func TestDropsAfterTheTestEnds(t *testing.T) {
	f := &fakeTB{}
	l := testlog.Logger(f, slog.LevelInfo)
	l.Debug("below the level")
	l.Info("while the test runs")
	f.end()
	l.Info("after the test ended")
	out := f.out.String()
	if !strings.Contains(out, "while the test runs") || strings.Contains(out, "after the test ended") || strings.Contains(out, "below the level") {
		t.Fatalf("output %q", out)
	}
	w := testlog.New(f)
	f.end()
	if n, err := w.Write([]byte("late\n")); n != 5 || err != nil || strings.Contains(f.out.String(), "late") {
		t.Fatalf("Write after the end = %d, %v, output %q", n, err, f.out.String())
	}
}
