// Package browser starts Debian's chromium headless for chromedp tests.
//
// Each call to New starts a fresh browser with its own profile in a
// temporary directory, so tests share no cookies or storage. When chromium
// is missing the test is skipped, except in CI (CI=true), where it fails.
package browser

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// DefaultExecPath is where Debian's chromium package installs the browser.
const DefaultExecPath = "/usr/bin/chromium"

// ExecPath returns the chromium binary to run: $CHROMIUM if set, else
// DefaultExecPath.
func ExecPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return DefaultExecPath
}

// Require skips tb when chromium is not installed, or fails it when running
// in CI (CI=true), and returns the path of the binary.
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath(ExecPath())
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("browser: chromium not found (%v); CI requires it: install Debian's chromium or set $CHROMIUM", err)
		}
		tb.Skipf("browser: chromium not found (%v); install Debian's chromium or set $CHROMIUM", err)
	}
	return p
}

// Options are the chromedp allocator options New uses: headless chromium
// without sandbox, GPU, background traffic or QUIC, with a fresh profile in
// userDataDir.
func Options(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
	}
}

// New starts a headless chromium for tb and returns the context of its
// first tab, to pass to chromedp.Run. The browser is closed, and its
// profile removed, when the test ends. Bound the test's browser work with a
// timeout derived from the returned context.
func New(tb testing.TB) context.Context {
	tb.Helper()
	execPath := Require(tb)
	dir := tb.TempDir() // removed after the browser is closed (cleanups run last-in first-out)

	// chromedp may log from its own goroutines; drop what comes after the
	// browser was closed, when the test may be over.
	var closed atomic.Bool
	logf := func(format string, args ...any) {
		if !closed.Load() {
			tb.Logf("chromedp: "+format, args...)
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(tb.Context()), Options(execPath, dir)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		closed.Store(true)
	})
	// Start the browser now, so that a broken installation fails here with
	// a clear message rather than in the middle of a test.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("browser: starting %s: %v", execPath, err)
	}
	return ctx
}
