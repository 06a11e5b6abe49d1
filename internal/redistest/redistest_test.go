package redistest_test

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/oidc-slo/slo/internal/redistest"
)

// gone reports whether no process has the pid any more.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestServer: a started server answers, Stop ends its process and frees
// the port, Restart brings it back empty on the same port, and the test's
// cleanup kills the process by its pid.
func TestServer(t *testing.T) {
	var pid int
	t.Run("lifecycle", func(t *testing.T) {
		s := redistest.Start(t)
		if got, err := redistest.Do(s.Addr(), "PING"); err != nil || got != "PONG" {
			t.Fatalf("PING = %q, %v", got, err)
		}
		if _, err := redistest.Do(s.Addr(), "SET", "k", "v"); err != nil {
			t.Fatal(err)
		}
		if got, err := redistest.Do(s.Addr(), "GET", "k"); err != nil || got != "v" {
			t.Fatalf("GET = %q, %v", got, err)
		}
		first := s.PID()
		if first == 0 || gone(first) {
			t.Fatalf("PID = %d, want a running process", first)
		}
		s.Stop()
		if s.PID() != 0 || !gone(first) {
			t.Fatalf("after Stop: PID = %d, process %d gone = %v", s.PID(), first, gone(first))
		}
		if c, err := net.Dial("tcp", s.Addr()); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections after Stop", s.Addr())
		}
		s.Restart()
		if got, err := redistest.Do(s.Addr(), "EXISTS", "k"); err != nil || got != "0" {
			t.Fatalf("EXISTS k after Restart = %q, %v; want 0 (nothing persisted)", got, err)
		}
		if _, err := redistest.Do(s.Addr(), "NOSUCHCOMMAND"); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Fatalf("an unknown command = %v, want the server's error", err)
		}
		pid = s.PID()
	})
	if pid == 0 {
		t.Fatal("no server ran")
	}
	if !gone(pid) {
		syscall.Kill(pid, syscall.SIGKILL) // our own child: do not leak it
		t.Fatalf("redis-server pid %d still runs after its test's cleanup", pid)
	}
}

// TestCluster: every node of a started cluster reports it ok with all
// slots assigned.
func TestCluster(t *testing.T) {
	servers := redistest.StartCluster(t, 3)
	if len(servers) != 3 {
		t.Fatalf("%d servers, want 3", len(servers))
	}
	for _, s := range servers {
		info, err := redistest.Do(s.Addr(), "CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
			t.Errorf("CLUSTER INFO on %s = %v\n%s", s.Addr(), err, info)
		}
	}
}

// TestSentinel: a Sentinel started for a master names its address.
func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	s := redistest.StartSentinel(t, "slo", master)
	got, err := redistest.Do(s.Addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "slo")
	if want := strings.Replace(master.Addr(), ":", "\n", 1); err != nil || got != want {
		t.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME slo = %q, %v; want %q", got, err, want)
	}
}

// TestMissingBinary: without redis-server on PATH the test is skipped
// outside CI.
func TestMissingBinary(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("PATH", t.TempDir())
	var sub *testing.T
	t.Run("start", func(t *testing.T) {
		sub = t
		redistest.Start(t)
		t.Error("Start returned without redis-server on PATH")
	})
	if !sub.Skipped() {
		t.Error("the test was not skipped")
	}
}
