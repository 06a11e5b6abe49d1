package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process the test owns, without
// persistence: a restart starts empty.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedisServer starts redis-server on a free loopback port and kills it
// when the test ends.
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server not installed: %v", err)
	}
	s := &redisServer{t: t, bin: bin, port: freePort(t)}
	s.args = []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--logfile", ""}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the server and returns once it logs that it accepts
// connections.
func (s *redisServer) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	ready := make(chan struct{})
	var log lockedBuffer
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	select {
	case <-ready:
	case <-s.done:
		s.t.Fatalf("redis-server exited before it was ready:\n%s", log.String())
	case <-deadline.C:
		s.t.Fatalf("redis-server not ready after 20s:\n%s", log.String())
	}
}

// stop shuts the server down without saving and waits for it to exit.
func (s *redisServer) stop() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr()})
	defer c.Close()
	c.ShutdownNoSave(context.Background()) // the connection drops: no reply
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	select {
	case <-s.done:
	case <-deadline.C:
		s.t.Fatal("redis-server did not shut down")
	}
}

func (s *redisServer) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
