package oidcprovider

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/e2e/e2etest"
)

// StartTimeout bounds how long Start waits for the READY line.
const StartTimeout = 30 * time.Second

// Provider is a running oidc-provider process.
type Provider struct {
	issuer  string
	version Version

	mu     sync.Mutex
	output strings.Builder // stdout and stderr, for failure logs
	events e2etest.EventLog[Event]
}

// Event is one EVENT line the provider script printed.
type Event struct {
	// Name is the oidc-provider event or the script's own: "backchannel.success",
	// "backchannel.error", "end_session.success", "frontchannel.frames" (v6),
	// "login", "consent", "error".
	Name     string   `json:"event"`
	ClientID string   `json:"client_id,omitempty"`
	SID      string   `json:"sid,omitempty"`
	Account  string   `json:"account,omitempty"`
	Error    string   `json:"error,omitempty"`
	Frames   []string `json:"frames,omitempty"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

// Dir returns the directory of the npm project for v: next to this source
// file, or, when the binary was built with -trimpath, found from the working
// directory (a test's working directory is its package directory, inside
// internal/e2e).
func Dir(v Version) string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), string(v))
	}
	wd, err := os.Getwd()
	if err != nil {
		return string(v)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		for _, rel := range []string{"oidcprovider", filepath.Join("internal", "e2e", "oidcprovider")} {
			cand := filepath.Join(dir, rel, string(v))
			if _, err := os.Stat(filepath.Join(cand, "package.json")); err == nil {
				return cand
			}
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, string(v))
		}
	}
}

func script(v Version) string {
	if v == V6 {
		return "provider.js"
	}
	return "provider.mjs"
}

// missing skips the test, or fails it when CI=true.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("oidcprovider: "+format, args...)
	}
	t.Skipf("oidcprovider: "+format, args...)
}

// Start runs the OP described by opts until the test ends and returns once it
// accepts requests.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found in PATH: %v", err)
	}
	dir := Dir(opts.Version)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		missing(t, "oidc-provider is not installed: run `npm ci --prefix %s` (%v)", dir, err)
	}
	cfg, err := opts.scriptJSON()
	if err != nil {
		t.Fatal(err)
	}

	// The process lives until cleanup, not until the test's context ends
	// (which happens before cleanups run), so it has its own context.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script(opts.Version), string(cfg))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test", "DEBUG=")
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("oidcprovider: %v", err)
	}
	p := &Provider{version: opts.Version}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("oidcprovider: starting node: %v", err)
	}

	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.read(stdout, ready)
	}()
	waited := make(chan error, 1)
	go func() {
		<-done
		waited <- cmd.Wait()
		p.events.SetExited(true)
	}()

	t.Cleanup(func() {
		cancel()
		<-waited
		if t.Failed() {
			t.Logf("oidcprovider %s output:\n%s", opts.Version, p.Output())
		}
	})

	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	select {
	case iss := <-ready:
		p.issuer = iss
	case <-done:
		t.Fatalf("oidcprovider: %s exited before READY", opts.Version)
	case <-timer.C:
		t.Fatalf("oidcprovider: no READY line from %s within %v", opts.Version, StartTimeout)
	}
	return p
}

// read consumes the script's stdout: READY, EVENT and free text lines.
func (p *Provider) read(r io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.output.WriteString(line)
		p.output.WriteByte('\n')
		p.mu.Unlock()
		switch {
		case strings.HasPrefix(line, "READY "):
			select {
			case ready <- strings.TrimSpace(strings.TrimPrefix(line, "READY ")):
			default:
			}
		case strings.HasPrefix(line, "EVENT "):
			raw := []byte(strings.TrimPrefix(line, "EVENT "))
			var ev Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				continue
			}
			ev.Raw = append(json.RawMessage(nil), raw...)
			p.events.Add(ev)
		}
	}
	// Drain after a scanner error so the process never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// Issuer is the OP's issuer identifier, for example "http://127.0.0.1:41234".
func (p *Provider) Issuer() string { return p.issuer }

// Version is the running release.
func (p *Provider) Version() Version { return p.version }

// Output is everything the process printed so far.
func (p *Provider) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Events returns the events reported so far, oldest first.
func (p *Provider) Events() []Event { return p.events.All() }

// WaitEvent returns the first event, already reported or still to come, for
// which match is true. It gives up when ctx ends or the process exits
// (e2etest.ErrExited).
func (p *Provider) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	ev, err := p.events.Wait(ctx, match)
	if err != nil {
		return ev, fmt.Errorf("oidcprovider: %w", err)
	}
	return ev, nil
}

// Named matches events by name and, when clientID is not empty, client.
func Named(name, clientID string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Name == name && (clientID == "" || ev.ClientID == clientID)
	}
}

// lockedWriter appends stderr to the provider's output.
type lockedWriter struct{ p *Provider }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.output.Write(b)
}
