package redisstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// skipOrFail skips the test for a missing service, or fails it in CI.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// localAddr is the shared Redis server the tests use; REDIS_ADDR overrides.
func localAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// localClient connects to the shared Redis server. Tests on it write only
// keys under a random prefix and delete them afterwards.
func localClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: localAddr()})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		skipOrFail(t, "redis at %s unreachable: %v", localAddr(), err)
	}
	return c
}

// randomPrefix returns a key prefix unique to one test and removes every key
// under it when the test ends.
func randomPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	p := "slotest:" + rand.Text()[:10] + ":"
	t.Cleanup(func() { deletePrefix(t, c, p) })
	return p
}

func deletePrefix(t testing.TB, c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for it.Next(ctx) {
			if err := c.Del(ctx, it.Val()).Err(); err != nil {
				return err
			}
		}
		return it.Err()
	}
	var err error
	switch c := c.(type) {
	case *redis.Client:
		err = del(ctx, c)
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	}
	if err != nil {
		t.Errorf("cleaning up keys %s*: %v", prefix, err)
	}
}

// server is a redis-server process the test owns.
type server struct {
	t    testing.TB
	bin  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// startServer starts redis-server on a free loopback port with the extra
// configuration args and stops it when the test ends.
func startServer(t testing.TB, dir string, args ...string) *server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server not installed: %v", err)
	}
	s := &server{t: t, bin: bin, port: freePort(t), args: args}
	s.args = append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", ""}, args...)
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the server and returns once it logs that it accepts
// connections.
func (s *server) start() {
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
	var log strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		mu.Lock()
		defer mu.Unlock()
		s.t.Fatalf("redis-server exited before it was ready:\n%s", log.String())
	case <-time.After(20 * time.Second):
		s.t.Fatal("redis-server not ready after 20s")
	}
}

// stop shuts the server down without saving and waits for it to exit.
func (s *server) stop() {
	s.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr()})
	defer c.Close()
	c.ShutdownNoSave(context.Background()) // the connection drops: no reply
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatal("redis-server did not shut down")
	}
}

func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// freePort returns a loopback port that is free, and whose cluster bus port
// (port+10000) is free too.
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
	t.Fatal("no free port found")
	return 0
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
