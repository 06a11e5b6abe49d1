package redisstore_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// startCluster starts a Redis Cluster of three masters on free loopback
// ports and returns their addresses. The servers stop when the test ends.
func startCluster(t *testing.T) []string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		skipOrFail(t, "redis-cli not installed: %v", err)
	}
	var addrs []string
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := exec.Command("mkdir", "-p", dir).Run(); err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
		addrs = append(addrs, srv.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(t.Context(), cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Poll every node until it reports the cluster ok and knows all slots.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := c.ClusterInfo(t.Context()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ready: %v\n%s", addr, err, info)
			}
			<-tick.C
		}
		c.Close()
	}
	return addrs
}

// TestCluster runs the conformance suite on a three-master Redis Cluster,
// and checks that the index deletes still take two round trips, the second
// fanned out as one pipeline per master.
func TestCluster(t *testing.T) {
	addrs := startCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	if err := c.ForEachShard(t.Context(), func(ctx context.Context, n *redis.Client) error {
		return n.Ping(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	runStoretest(t, c)

	t.Run("RoundTrips", func(t *testing.T) {
		var mu sync.Mutex
		perNode := map[string]int{}
		cluster := &tripCounter{}
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		t.Cleanup(func() { c.Close() })
		c.OnNewNode(func(n *redis.Client) {
			n.AddHook(nodeCounter{n.Options().Addr, &mu, perNode})
		})
		c.AddHook(cluster)
		st := newStore(t, redisstore.Config{Client: c, Prefix: randomPrefix(t, c)})
		ctx := t.Context()
		const n = 60
		now := time.Now()
		for i := range n {
			s := &sessionstore.Session{ID: "id-" + strconv.Itoa(i), Issuer: "https://op.example",
				Subject: "user-" + strconv.Itoa(i), SID: "shared", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := st.Create(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		cluster.reset()
		mu.Lock()
		clear(perNode)
		mu.Unlock()
		got, err := st.DeleteBySID(ctx, "https://op.example", "shared")
		if err != nil || got != n {
			t.Fatalf("DeleteBySID = %d, %v; want %d", got, err, n)
		}
		if trips, _ := cluster.reset(); trips != 2 {
			t.Errorf("DeleteBySID: %d round trips through the cluster client, want 2", trips)
		}
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for addr, trips := range perNode {
			total += trips
			if trips > 2 {
				t.Errorf("DeleteBySID: %d round trips to node %s, want at most 2", trips, addr)
			}
		}
		if len(perNode) != 3 || total > 4 {
			t.Errorf("DeleteBySID: round trips per node %v; want one pipeline to each of the 3 masters plus one ZRANGE", perNode)
		}
	})
}

// nodeCounter counts round trips to one cluster node.
type nodeCounter struct {
	addr string
	mu   *sync.Mutex
	m    map[string]int
}

func (h nodeCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h nodeCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count()
		return next(ctx, cmd)
	}
}

func (h nodeCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count()
		return next(ctx, cmds)
	}
}

func (h nodeCounter) count() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[h.addr]++
}
