// Package redistest starts throwaway redis-server processes for slo's tests:
// a single node for outage and round-trip tests, a Sentinel watching one,
// or a Redis Cluster of several masters. It is the one place that does this for every module of
// the repository (redisstore, examples/cluster); Go lets them import it
// because their module paths lie under github.com/oidc-slo/slo.
//
// Each server listens on a free loopback port, keeps nothing on disk
// (--save "" --appendonly no, in a test temporary directory) and is stopped
// at the test's cleanup: the package signals the process it started, by its
// own pid, and waits for it to exit. It never looks for, or stops, any
// other process.
//
// A missing redis-server or redis-cli binary skips the test, except with
// CI=true in the environment, where it fails it (see [SkipOrFail]).
//
// The package uses only the standard library, so the core module gains no
// dependency: the few commands it sends itself (PING, CLUSTER INFO) go over
// a plain RESP connection.
package redistest

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to start or stop.
const startTimeout = 20 * time.Second

// SkipOrFail skips the test for a missing service or binary, or fails it
// when the environment has CI=true.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Server is a redis-server process owned by one test.
type Server struct {
	t     testing.TB
	bin   string
	port  int
	args  []string
	ready string // the log line that says the server accepts connections

	mu   sync.Mutex // guards cmd and done across Stop, Restart and cleanup
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and been waited for
}

// Start starts redis-server on a free loopback port, with the extra
// configuration args appended to the command line, and returns once it
// accepts connections. The process is stopped when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(t, "redis-server not installed: %v", err)
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, port: freePort(t), ready: "Ready to accept connections"}
	s.args = append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", ""}, args...)
	t.Cleanup(s.kill)
	s.start()
	return s
}

// StartSentinel starts a Redis Sentinel on a free loopback port that
// monitors master under the name masterName (quorum 1), and returns once it
// does. Clients find the master through it (redis.NewFailoverClient). The
// process is stopped when the test ends.
func StartSentinel(t testing.TB, masterName string, master *Server) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(t, "redis-server not installed: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites it
	text := fmt.Sprintf("dir %s\nsentinel monitor %s 127.0.0.1 %d 1\n", dir, masterName, master.port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, port: freePort(t), ready: "+monitor master " + masterName}
	s.args = []string{conf, "--sentinel", "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--logfile", ""}
	t.Cleanup(s.kill)
	s.start()
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// PID returns the process id of the running server, or 0 if it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.exited() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop shuts the server down the way an operator would (SIGTERM: without
// saving, as nothing is configured to be saved) and waits for it to exit.
// Restart starts it again on the same port, empty.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.t.Fatalf("redis-server (pid %d) did not shut down within %v", cmd.Process.Pid, startTimeout)
	}
}

// Restart starts a stopped server again on the same port and with the same
// configuration. It starts empty: nothing was persisted.
func (s *Server) Restart() {
	s.t.Helper()
	if s.PID() != 0 {
		s.t.Fatal("redistest: Restart of a running server")
	}
	s.start()
}

// start runs the server and returns once it logs its ready line.
func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	ready := make(chan struct{})
	var log lockedLog
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			log.add(sc.Text())
			if !signalled && strings.Contains(sc.Text(), s.ready) {
				close(ready)
				signalled = true
			}
		}
		cmd.Wait() // also drains what the scanner left
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-done:
		s.t.Fatalf("redis-server exited before it was ready:\n%s", log.String())
	case <-timer.C:
		s.t.Fatalf("redis-server not ready after %v:\n%s", startTimeout, log.String())
	}
}

// exited reports whether the current process has exited. s.mu is held.
func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// kill is the test cleanup: it kills the process it started, by its pid,
// unless it has already exited, and waits for it.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Kill()
	<-done
}

// lockedLog collects a server's output for error messages.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line)
	l.b.WriteByte('\n')
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartCluster starts a Redis Cluster of n masters (no replicas), each a
// Server of its own, joins them with redis-cli --cluster create, waits
// until every node reports the cluster ok, and returns the servers. They
// stop when the test ends.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		SkipOrFail(t, "redis-cli not installed: %v", err)
	}
	var servers []*Server
	var addrs []string
	for i := range n {
		conf := filepath.Join(t.TempDir(), "nodes-"+strconv.Itoa(i)+".conf")
		s := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", conf,
			"--cluster-node-timeout", "5000")
		servers = append(servers, s)
		addrs = append(addrs, s.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(t.Context(), cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Poll every node until it reports the cluster ok and knows every
	// node: the slot assignment spreads by gossip.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	want := "cluster_known_nodes:" + strconv.Itoa(n)
	for _, addr := range addrs {
		for {
			info, err := Do(addr, "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ready: %v\n%s", addr, err, info)
			}
			<-tick.C
		}
	}
	return servers
}

// Do sends one command to the server at addr on a new connection and
// returns its reply: a simple string, a bulk string or an integer as text,
// or the elements of a flat array of those, one per line. An error reply is
// returned as an error. It is for the few commands tests need without a
// Redis client (PING, CLUSTER INFO, SENTINEL).
func Do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(req.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := readLine(r)
	if err != nil || !strings.HasPrefix(line, "*") {
		return readValue(r, line, err, addr)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		return "", fmt.Errorf("redistest: %s: array reply %q", addr, line)
	}
	items := make([]string, 0, max(n, 0))
	for range n {
		v, err := readValue(r, "", nil, addr)
		if err != nil {
			return "", err
		}
		items = append(items, v)
	}
	return strings.Join(items, "\n"), nil
}

// readLine reads one CRLF-terminated line of a reply, without the CRLF.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}

// readValue reads one reply that is not an array, whose first line is line
// if it was read already (err is that read's error).
func readValue(r *bufio.Reader, line string, err error, addr string) (string, error) {
	if line == "" && err == nil {
		line, err = readLine(r)
	}
	if err != nil {
		return "", err
	}
	if line == "" {
		return "", fmt.Errorf("redistest: empty reply from %s", addr)
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redistest: %s: %s", addr, line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redistest: %s: bulk reply %q", addr, line)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	}
	return "", fmt.Errorf("redistest: %s: unsupported reply %q", addr, line)
}

// freePort returns a loopback port that is free, and whose cluster bus
// port (port+10000) is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(20000))
		if err != nil {
			t.Fatal(err)
		}
		port := 20000 + int(n.Int64())
		if portFree(port) && portFree(port+10000) {
			return port
		}
	}
	t.Fatal("redistest: no free port found")
	return 0
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
