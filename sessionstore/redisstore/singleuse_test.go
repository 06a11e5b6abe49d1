package redisstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidc-slo/slo/internal/redistest"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

func newSingleUse(t testing.TB, cfg redisstore.SingleUseConfig) *redisstore.SingleUse {
	t.Helper()
	u, err := redisstore.NewSingleUse(cfg)
	if err != nil {
		t.Fatalf("redisstore.NewSingleUse: %v", err)
	}
	return u
}

// runSingleUse runs storetest's SingleUse suite against c. Redis expires
// keys on its own clock, so the suite's fake-clock expiry check is left to
// TestSingleUseExpiry.
func runSingleUse(t *testing.T, c redis.UniversalClient) {
	t.Run("SingleUse", func(t *testing.T) {
		prefix := randomPrefix(t, c)
		storetest.RunSingleUse(t, storetest.SingleUseConfig{
			New: func(t *testing.T) sessionstore.SingleUse {
				return newSingleUse(t, redisstore.SingleUseConfig{Client: c, Prefix: prefix})
			},
		})
	})
}

func TestSingleUse(t *testing.T) {
	runSingleUse(t, localClient(t))
}

func TestNewSingleUseRequiresClient(t *testing.T) {
	if _, err := redisstore.NewSingleUse(redisstore.SingleUseConfig{}); err == nil {
		t.Fatal("NewSingleUse without a Client succeeded")
	}
}

// use calls u.Use and fails the test on an error.
func use(t testing.TB, u *redisstore.SingleUse, k sessionstore.Key, exp time.Time) bool {
	t.Helper()
	used, err := u.Use(t.Context(), k, exp)
	if err != nil {
		t.Fatalf("Use(%+v): %v", k, err)
	}
	return used
}

// TestSingleUseExpiry lets a value expire for real in Redis.
func TestSingleUseExpiry(t *testing.T) {
	c := localClient(t)
	u := newSingleUse(t, redisstore.SingleUseConfig{Client: c, Prefix: randomPrefix(t, c)})
	k := sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: "iss", ID: "jti"}
	exp := time.Now().Add(100 * time.Millisecond)
	if use(t, u, k, exp) {
		t.Fatal("first Use reported a repeated use")
	}
	if !use(t, u, k, exp) {
		t.Fatal("second Use before expiry reported a first use")
	}
	<-time.After(time.Until(exp.Add(50 * time.Millisecond))) // Redis expires keys on its own clock
	if use(t, u, k, time.Now().Add(time.Minute)) {
		t.Fatal("Use after expiry reported a repeated use")
	}
}

// TestSingleUseKeyLayout pins the key layout documented in README.md: one
// string key per (namespace, issuer, id) that lives until the value's
// expiry; an already expired value writes nothing but still finds a
// recorded one; Forget deletes the key.
func TestSingleUseKeyLayout(t *testing.T) {
	c := localClient(t)
	prefix := randomPrefix(t, c)
	clock := storetest.NewClock(time.Now())
	u := newSingleUse(t, redisstore.SingleUseConfig{Client: c, Prefix: prefix, Now: clock.Now})
	ctx := t.Context()
	k := sessionstore.Key{Namespace: sessionstore.LoginStates, Issuer: "https://op.example/{tag}", ID: "state:1"}
	key := prefix + "use:" + b64([]byte(k.Namespace)) + ":" + b64([]byte(k.Issuer)) + ":" + b64([]byte(k.ID))
	if use(t, u, k, clock.Now().Add(10*time.Minute)) {
		t.Fatal("first Use reported a repeated use")
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "1" {
		t.Fatalf("GET %s = %q, %v; want 1", key, v, err)
	}
	if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("TTL of %s = %v, %v; want about 10 minutes", key, ttl, err)
	}
	// An expires that has passed: nothing is written, a recorded value
	// still counts.
	if !use(t, u, k, clock.Now()) {
		t.Error("Use with an expired expiry of a recorded value reported a first use")
	}
	gone := sessionstore.Key{Namespace: sessionstore.LoginStates, Issuer: k.Issuer, ID: "expired"}
	if use(t, u, gone, clock.Now()) {
		t.Error("Use of a new, already expired value reported a repeated use")
	}
	if n, err := c.Exists(ctx, prefix+"use:"+b64([]byte(gone.Namespace))+":"+b64([]byte(gone.Issuer))+":"+b64([]byte(gone.ID))).Result(); err != nil || n != 0 {
		t.Errorf("an already expired value was written (%d, %v)", n, err)
	}
	if err := u.Forget(ctx, k); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s after Forget = %d, %v; want 0", key, n, err)
	}
}

// TestSingleUseLoginStateFlood is B-34 on Redis (storetest.SingleUseFlood)
// with 20,000 login states.
func TestSingleUseLoginStateFlood(t *testing.T) {
	c := localClient(t)
	storetest.SingleUseFlood(t, newSingleUse(t, redisstore.SingleUseConfig{Client: c, Prefix: randomPrefix(t, c)}), 20_000)
}

// BenchmarkSingleUseMassLogout is B-38 on Redis: it records 200,000
// distinct logout token ids, as a mass logout sends them within a token's
// lifetime, on a redis-server of its own, from 16 concurrent clients (a
// serial loop would measure only the round-trip latency), and asserts
// that every one is a first use and that all are kept. It reports the wall
// time per Use of the first 10,000 and of the last 10,000, measured the
// same way (x-last-vs-first, target ≤ 1.5), the same ratio of the time the
// server itself spent per SET (x-server-last-vs-first, from INFO
// commandstats: unlike the wall time, it does not change when other
// processes compete for the CPU), and the server's memory per recorded id
// (B/value, from INFO memory).
func BenchmarkSingleUseMassLogout(b *testing.B) {
	const n, window, workers = 200_000, 10_000, 16
	srv := redistest.Start(b)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: workers})
	b.Cleanup(func() { c.Close() })
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("jti-%08d-%s", i, "3f9c2a7e-5b1d-4c8e-9a6f")
	}
	iss := "https://op.example.com/realms/tenant"
	var first, last time.Duration
	var serverFirst, serverLast float64 // µs the server spent in SET
	var perValue float64
	for b.Loop() {
		if err := c.FlushAll(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
		warmUp(b, c, workers)
		before := usedMemory(b, c)
		u := newSingleUse(b, redisstore.SingleUseConfig{Client: c})
		exp := time.Now().Add(6 * time.Minute)
		for w := 0; w < n; w += window {
			usec := setMicroseconds(b, c)
			start := time.Now()
			storetest.UseAll(b, u, sessionstore.LogoutTokens, iss, ids[w:w+window], exp, workers)
			d := time.Since(start)
			usec = setMicroseconds(b, c) - usec
			switch w {
			case 0:
				first += d
				serverFirst += usec
			case n - window:
				last += d
				serverLast += usec
			}
		}
		if k, err := c.DBSize(b.Context()).Result(); err != nil || k != n {
			b.Fatalf("DBSIZE = %d, %v; want %d: every id kept", k, err, n)
		}
		perValue = float64(usedMemory(b, c)-before) / n
	}
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N*window), "ns/use-first-10k")
	b.ReportMetric(float64(last.Nanoseconds())/float64(b.N*window), "ns/use-last-10k")
	b.ReportMetric(float64(last)/float64(first), "x-last-vs-first")
	b.ReportMetric(serverFirst*1000/float64(b.N*window), "server-ns/set-first-10k")
	b.ReportMetric(serverLast*1000/float64(b.N*window), "server-ns/set-last-10k")
	b.ReportMetric(serverLast/serverFirst, "x-server-last-vs-first")
	b.ReportMetric(perValue, "B/value")
}

// setMicroseconds returns the microseconds the server has spent running
// SET commands (INFO commandstats).
func setMicroseconds(b *testing.B, c *redis.Client) float64 {
	b.Helper()
	info, err := c.Info(b.Context(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_set:"); ok {
			for field := range strings.SplitSeq(rest, ",") {
				if v, ok := strings.CutPrefix(field, "usec="); ok {
					n, err := strconv.ParseFloat(v, 64)
					if err != nil {
						b.Fatal(err)
					}
					return n
				}
			}
		}
	}
	return 0 // no SET yet
}

// warmUp opens the client's connections before anything is timed, so that
// the first window does not pay for dialling.
func warmUp(b *testing.B, c *redis.Client, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range 10 {
				if err := c.Ping(b.Context()).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// usedMemory returns the server's used_memory (INFO memory).
func usedMemory(b *testing.B, c *redis.Client) int64 {
	b.Helper()
	info, err := c.Info(b.Context(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("INFO memory without used_memory")
	return 0
}
