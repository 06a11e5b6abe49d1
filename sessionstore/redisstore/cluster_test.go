package redisstore_test

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
)

// startCluster starts a Redis Cluster of three masters on free loopback
// ports and returns their addresses. The servers stop when the test ends.
func startCluster(t *testing.T) []string {
	t.Helper()
	var addrs []string
	for _, s := range redistest.StartCluster(t, 3) {
		addrs = append(addrs, s.Addr())
	}
	return addrs
}

// TestCluster runs the conformance suites (Store and SingleUse) on a
// three-master Redis Cluster, and checks that the index deletes still take
// two round trips, the second fanned out as one pipeline per master, and
// that LastLogout reads a sid record and a subject record on two different
// masters in one round trip.
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
	runSingleUse(t, c)
	t.Run("LogoutRecordsAcrossMasters", func(t *testing.T) { testClusterLogoutRecords(t, addrs) })

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
		if err != nil || len(got) != n {
			t.Fatalf("DeleteBySID = %d sessions, %v; want %d", len(got), err, n)
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

// testClusterLogoutRecords: a sid's logout record and a subject's live on
// two different masters; LastLogout merges them with one round trip
// through the cluster client (one command to each of the two masters, sent
// at once), and RecordLogout is one script on one master.
func testClusterLogoutRecords(t *testing.T, addrs []string) {
	var mu sync.Mutex
	perNode := map[string]int{}
	cluster := &tripCounter{}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	c.OnNewNode(func(n *redis.Client) {
		n.AddHook(nodeCounter{n.Options().Addr, &mu, perNode})
	})
	c.AddHook(cluster)
	prefix := randomPrefix(t, c)
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix})
	ctx := t.Context()
	iss, sid := "https://op.example", "sid-1"
	master := func(key string) string {
		t.Helper()
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return n.Options().Addr
	}
	sidMaster := master(prefix + "lo-sid:" + b64([]byte(iss)) + ":" + b64([]byte(sid)))
	sub := ""
	for i := 0; sub == ""; i++ {
		if s := "user-" + strconv.Itoa(i); master(prefix+"lo-sub:"+b64([]byte(iss))+":"+b64([]byte(s))) != sidMaster {
			sub = s
		}
	}
	reset := func() map[string]int {
		cluster.reset()
		mu.Lock()
		defer mu.Unlock()
		m := maps.Clone(perNode)
		clear(perNode)
		return m
	}

	now := time.Now().Truncate(time.Millisecond)
	reset()
	if err := st.RecordLogout(ctx, sessionstore.Logout{Issuer: iss, SID: sid,
		ReceivedAt: now.Add(-time.Second), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if trips, _ := cluster.reset(); trips != 1 {
		t.Errorf("RecordLogout: %d round trips, want 1", trips)
	}
	if err := st.RecordLogout(ctx, sessionstore.Logout{Issuer: iss, Subject: sub,
		ReceivedAt: now, IssuedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	reset()
	r, i, err := st.LastLogout(ctx, iss, sid, sub)
	if err != nil || !r.Equal(now) || !i.Equal(now) {
		t.Errorf("LastLogout = %v, %v, %v; want the later of each time, %v", r, i, err, now)
	}
	trips, _ := cluster.reset()
	nodes := reset()
	if trips != 1 || len(nodes) != 2 || nodes[sidMaster] != 1 {
		t.Errorf("LastLogout: %d round trips through the cluster client, per node %v; want 1, and one to each of the 2 masters holding the records", trips, nodes)
	}
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
