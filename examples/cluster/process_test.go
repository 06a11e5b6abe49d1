package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildApp builds the cluster command into a temporary directory once per
// call and returns the binary's path.
func buildApp(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		skipOrFail(t, "go command not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "app")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// waitFor waits until the output contains s, for at most 10 seconds, and
// reports whether it does.
func (l *lockedBuffer) waitFor(s string) bool {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return true
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a replica running as its own process.
type proc struct {
	name string
	base string // http://127.0.0.1:port, its own address (not the public URL)
	out  *lockedBuffer
	done chan struct{}
}

// startReplica runs bin with args plus -name and -addr 127.0.0.1:0 and
// returns once the replica answers its health URL. The process is stopped
// when the test ends; its output is printed if the test failed.
func startReplica(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: new(lockedBuffer), done: make(chan struct{})}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of replica %s:\n%s", name, p.out.String())
		}
	})
	cmd := exec.Command(bin, append([]string{"-name", name, "-addr", "127.0.0.1:0"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLO_") { // only the flags configure it
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting replica %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if _, rest, ok := strings.Cut(line, " listening on "); ok {
				select {
				case addr <- strings.Fields(rest)[0]:
				default:
				}
			}
		}
		cmd.Wait()
	}()

	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case p.base = <-addr:
	case <-p.done:
		t.Fatalf("replica %s exited before listening:\n%s", name, p.out.String())
	case <-deadline.C:
		t.Fatalf("replica %s did not listen within 30s:\n%s", name, p.out.String())
	}
	// Poll the health URL until it answers, the process dies or the
	// deadline passes.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Replica") == name {
				return p
			}
		}
		select {
		case <-tick.C:
		case <-p.done:
			t.Fatalf("replica %s exited:\n%s", name, p.out.String())
		case <-deadline.C:
			t.Fatalf("replica %s not healthy within 30s (last error %v):\n%s", name, err, p.out.String())
		}
	}
}
