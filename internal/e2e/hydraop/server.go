package hydraop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/internal/e2e/e2etest"
)

// StartTimeout bounds how long Start waits for Hydra to answer
// /health/ready, and MigrateTimeout its database migration.
const (
	StartTimeout   = 60 * time.Second
	MigrateTimeout = 2 * time.Minute
)

// startAttempts is how often Start tries new ports when Hydra finds one
// taken (another process may bind a port between freePorts and Hydra).
const startAttempts = 3

// Server is a running Hydra with its login, consent and logout apps.
type Server struct {
	issuer  string
	public  string // http://127.0.0.1:port, the public port by address
	admin   string // http://127.0.0.1:port
	ui      string
	subject string

	mu     sync.Mutex
	output strings.Builder // Hydra's stdout and stderr, for failure logs
	events e2etest.EventLog[Event]
}

// Event is something the OP did.
type Event struct {
	// Name is what happened:
	//   - "login", "consent", "logout": the app accepted a challenge;
	//   - "error": Hydra sent the browser to its error page, or an app
	//     failed;
	//   - "backchannel.success", "backchannel.error": Hydra's log line
	//     after one back-channel logout call (error: a status other than
	//     200 and 204, or no answer).
	Name string
	// ClientID is the client of the challenge or the back-channel call;
	// empty for a logout that no client started.
	ClientID string
	// Subject and SID are the user and Hydra's login session id (the sid
	// claim) of a challenge.
	Subject, SID string
	// Skip is true when Hydra remembered the login or consent.
	Skip bool
	// RequestURL is, for a logout, the request Hydra received at its
	// end-session endpoint (path and query), and RPInitiated whether it
	// carried an id_token_hint.
	RequestURL  string
	RPInitiated bool
	// URL is the backchannel_logout_uri of a back-channel call.
	URL string
	// Error describes an error event or a failed back-channel call.
	Error string
}

// Start runs a Hydra until the test ends and returns once it accepts
// requests.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := Binary()
	if err != nil {
		missing(t, "%v", err)
	}
	dsn := createDatabase(t)
	migrate(t, bin, dsn)

	s := &Server{subject: opts.Subject}
	ui := httptest.NewServer(s.uiHandler())
	t.Cleanup(ui.Close)
	s.ui = ui.URL

	for attempt := 1; ; attempt++ {
		err := s.serve(t, bin, dsn, opts)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			t.Fatalf("hydraop: %v\nHydra's output:\n%s", err, s.Output())
		}
		t.Logf("hydraop: %v; retrying on other ports", err)
	}
}

var errPortTaken = errors.New("a port was taken")

// hydraEnv is the whole environment of Hydra's processes: Hydra reads any
// of its configuration keys from environment variables (LOG_LEVEL,
// SERVE_PUBLIC_PORT, …), so it does not inherit the test's.
func hydraEnv(dsn string) []string {
	env := []string{"DSN=" + dsn}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// migrate creates Hydra's tables (hydra migrate sql up -e --yes: the DSN
// from the environment, no prompt).
func migrate(t testing.TB, bin, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), MigrateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate", "sql", "up", "-e", "--yes")
	cmd.Env = hydraEnv(dsn)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hydraop: hydra migrate sql up: %v\n%s", err, out)
	}
}

// serve starts hydra serve all on free ports and waits until it is ready.
// The process is stopped, by its id, when the test ends.
func (s *Server) serve(t testing.TB, bin, dsn string, opts Options) error {
	t.Helper()
	p, err := freePorts()
	if err != nil {
		return err
	}
	cfg, err := config(opts, p, s.ui)
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(t.TempDir(), "hydra.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	s.issuer = "http://" + net.JoinHostPort(opts.Host, strconv.Itoa(p.public))
	s.public = "http://127.0.0.1:" + strconv.Itoa(p.public)
	s.admin = "http://127.0.0.1:" + strconv.Itoa(p.admin)

	// The process lives until cleanup, not until the test's context ends
	// (which happens before cleanups run), so it has its own context.
	ctx, cancel := context.WithCancel(context.Background())
	// --dev: an http issuer and cookies without Secure (see the package
	// documentation). --sqa-opt-out: no telemetry calls to ory.sh.
	cmd := exec.CommandContext(ctx, bin, "serve", "all", "--dev", "--sqa-opt-out", "--config", cfgFile)
	cmd.Env = hydraEnv(dsn)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // graceful shutdown
	cmd.WaitDelay = 10 * time.Second                                      // then SIGKILL
	r, w, err := os.Pipe()
	if err != nil {
		cancel()
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close() // the child has its copy
	if err != nil {
		cancel()
		r.Close()
		return fmt.Errorf("starting hydra: %w", err)
	}
	s.events.SetExited(false)

	read := make(chan struct{})
	go func() {
		defer close(read)
		s.read(r)
	}()
	done := make(chan struct{})
	var waitErr error
	go func() {
		defer close(done)
		waitErr = cmd.Wait()
		<-read
		r.Close()
		s.events.SetExited(true)
	}()
	stop := func() {
		cancel()
		<-done
	}

	if err := s.waitReady(done); err != nil {
		stop()
		if strings.Contains(s.Output(), "address already in use") {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("hydraop: Hydra's output (%v):\n%s", waitErr, s.Output())
		}
	})
	return nil
}

// waitReady polls both ports' /health/ready until they answer 200, the
// process exits (done is closed) or StartTimeout passes.
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	c := &http.Client{Timeout: time.Second}
	ready := func(base string) bool {
		resp, err := c.Get(base + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for {
		if ready(s.admin) && ready(s.public) {
			return nil
		}
		select {
		case <-done:
			return errors.New("hydra serve exited before it was ready")
		case <-deadline.C:
			return fmt.Errorf("hydra serve not ready within %v", StartTimeout)
		case <-tick.C:
		}
	}
}

// read consumes Hydra's output: its JSON log lines become back-channel
// events; everything is kept for failure logs.
func (s *Server) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		s.mu.Lock()
		s.output.Write(line)
		s.output.WriteByte('\n')
		s.mu.Unlock()
		if ev, ok := backChannelEvent(line); ok {
			s.addEvent(ev)
		}
	}
	// Drain after a scanner error so the process never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// The messages Hydra v2.3.0 logs after each back-channel logout call
// (consent/strategy_default.go, executeBackChannelLogout).
const (
	msgBackChannelOK     = "Back-Channel Logout Request"
	msgBackChannelFailed = "Unable to execute OpenID Connect Back-Channel Logout Request"
)

func backChannelEvent(line []byte) (Event, bool) {
	var l struct {
		Msg      string          `json:"msg"`
		ClientID string          `json:"client_id"`
		URL      string          `json:"backchannel_logout_url"`
		Error    json.RawMessage `json:"error"`
	}
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &l) != nil {
		return Event{}, false
	}
	switch l.Msg {
	case msgBackChannelOK:
		return Event{Name: "backchannel.success", ClientID: l.ClientID, URL: l.URL}, true
	case msgBackChannelFailed:
		return Event{Name: "backchannel.error", ClientID: l.ClientID, URL: l.URL, Error: errorText(l.Error)}, true
	}
	return Event{}, false
}

// errorText reads logrus's error field: {"message": …} or a string.
func errorText(raw json.RawMessage) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		return e.Message
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	return string(raw)
}

func (s *Server) addEvent(ev Event) { s.events.Add(ev) }

// Issuer is the OP's issuer identifier, for example
// "http://localhost:41234".
func (s *Server) Issuer() string { return s.issuer }

// AdminURL is the base URL of Hydra's admin API.
func (s *Server) AdminURL() string { return s.admin }

// UIURL is the base URL of the login, consent and logout apps; Hydra ends
// a logout without post_logout_redirect_uri on UIURL() + SignedOutPath.
func (s *Server) UIURL() string { return s.ui }

// Output is everything Hydra printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

// Events returns the events reported so far, oldest first.
func (s *Server) Events() []Event { return s.events.All() }

// WaitEvent returns the first event, already reported or still to come, for
// which match is true. It gives up when ctx ends or Hydra exits
// (e2etest.ErrExited).
func (s *Server) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	ev, err := s.events.Wait(ctx, match)
	if err != nil {
		return ev, fmt.Errorf("hydraop: %w", err)
	}
	return ev, nil
}

// Named matches events by name and, when clientID is not empty, client.
func Named(name, clientID string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Name == name && (clientID == "" || ev.ClientID == clientID)
	}
}
