package redisstore_test

import (
	"context"
	"errors"
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
)

// tripCounter is a go-redis hook counting round trips: every command sent on
// its own and every pipeline is one.
type tripCounter struct {
	mu    sync.Mutex
	trips int
	cmds  int
}

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(1)
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add(len(cmds))
		return next(ctx, cmds)
	}
}

func (c *tripCounter) add(cmds int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trips++
	c.cmds += cmds
}

func (c *tripCounter) reset() (trips, cmds int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	trips, cmds = c.trips, c.cmds
	c.trips, c.cmds = 0, 0
	return trips, cmds
}

// commandStats returns the calls per command the server has counted
// (INFO commandstats), for commands sent by clients and from scripts.
func commandStats(t *testing.T, c *redis.Client) map[string]int {
	t.Helper()
	info, err := c.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	stats := make(map[string]int)
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		stats[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.Atoi(n)
	}
	return stats
}

// TestRoundTrips checks the documented number of round trips of every method
// with a client hook, and the commands a dedicated server saw with INFO
// commandstats: index deletes need at most two round trips and one script
// per session, whatever the number of sessions.
func TestRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	hook := &tripCounter{}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	c.AddHook(hook)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	st := newStore(t, redisstore.Config{Client: c})
	ctx := t.Context()
	if err := c.Ping(ctx).Err(); err != nil { // open the connection
		t.Fatal(err)
	}

	const n = 50
	now := time.Now()
	mk := func(i int, sub, sid string) *sessionstore.Session {
		return &sessionstore.Session{
			ID: fmt.Sprintf("id-%s-%d", sub, i), Issuer: "https://op.example", Subject: sub, SID: sid,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
	}
	var bySID, bySub []*sessionstore.Session
	for i := range n {
		bySID = append(bySID, mk(i, "user-"+strconv.Itoa(i), "shared-sid"))
		bySub = append(bySub, mk(i, "shared-user", "sid-"+strconv.Itoa(i)))
	}

	// measure runs op and checks its round trips (client hook) and the calls
	// the server counted for the commands in stats (INFO commandstats, which
	// includes the commands scripts run).
	measure := func(name string, trips int, stats map[string]int, op func() error) {
		t.Helper()
		hook.reset()
		if err := admin.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gotTrips, _ := hook.reset()
		if gotTrips != trips {
			t.Errorf("%s: %d round trips, want %d", name, gotTrips, trips)
		}
		got := commandStats(t, admin)
		for cmd, want := range stats {
			if got[cmd] != want {
				t.Errorf("%s: server saw %d %s, want %d (all: %v)", name, got[cmd], cmd, want, got)
			}
		}
	}
	for _, s := range append(bySID, bySub...) {
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	s := bySID[0]
	// Get: one HGET and nothing else.
	measure("Get", 1, map[string]int{"hget": 1, "eval": 0}, func() error { _, err := st.Get(ctx, s.ID); return err })
	fresh := mk(n, "fresh", "fresh-sid")
	// Create and Update: two index scripts, then the record script.
	measure("Create", 2, map[string]int{"eval": 3}, func() error { return st.Create(ctx, fresh) })
	measure("Update", 2, map[string]int{"eval": 3}, func() error { return st.Update(ctx, s) })
	measure("Delete", 1, map[string]int{"eval": 1}, func() error { _, err := st.Delete(ctx, fresh.ID); return err })
	// Index deletes: one ZRANGE, then one script per session, all in one
	// pipeline.
	measure("DeleteBySID", 2, map[string]int{"zrange": 1, "eval": n, "del": n}, func() error {
		got, err := st.DeleteBySID(ctx, s.Issuer, "shared-sid")
		if err == nil && len(got) != n {
			t.Errorf("DeleteBySID ended %d sessions, want %d", len(got), n)
		}
		return err
	})
	measure("DeleteBySubject", 2, map[string]int{"zrange": 1, "eval": n, "del": n}, func() error {
		got, err := st.DeleteBySubject(ctx, s.Issuer, "shared-user")
		if err == nil && len(got) != n {
			t.Errorf("DeleteBySubject ended %d sessions, want %d", len(got), n)
		}
		return err
	})
	measure("DeleteBySID unknown", 1, map[string]int{"zrange": 1, "eval": 0}, func() error {
		_, err := st.DeleteBySID(ctx, s.Issuer, "unknown")
		return err
	})

	// DeleteBySIDAndSubject: one session of the sid costs the ZRANGE and
	// one script; several cost a pipeline of HMGETs and, unless one is
	// another subject's, a pipeline of scripts (which run an HMGET each:
	// commandstats counts commands run by scripts).
	del := func(sid, sub string, want int, mismatch bool) func() error {
		return func() error {
			got, err := st.DeleteBySIDAndSubject(ctx, s.Issuer, sid, sub)
			if mismatch {
				if !errors.Is(err, sessionstore.ErrSubjectMismatch) {
					t.Errorf("DeleteBySIDAndSubject(%q, %q) = %d sessions, %v; want ErrSubjectMismatch", sid, sub, len(got), err)
				}
				return nil
			}
			if err == nil && len(got) != want {
				t.Errorf("DeleteBySIDAndSubject(%q, %q) ended %d sessions, want %d", sid, sub, len(got), want)
			}
			return err
		}
	}
	var mixed, same []*sessionstore.Session
	for i := range n {
		mixed = append(mixed, mk(i, "user-"+strconv.Itoa(i), "mixed-sid"))
		same = append(same, mk(i, "same-user", "same-sid"))
	}
	one := mk(0, "solo", "solo-sid")
	for _, s := range append(append(mixed, same...), one) {
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	measure("DeleteBySIDAndSubject unknown", 1, map[string]int{"zrange": 1, "eval": 0}, del("unknown", "x", 0, false))
	measure("DeleteBySIDAndSubject one, mismatch", 2, map[string]int{"zrange": 1, "eval": 1, "hmget": 1, "del": 0}, del("solo-sid", "other", 0, true))
	measure("DeleteBySIDAndSubject one", 2, map[string]int{"zrange": 1, "eval": 1, "hmget": 1, "del": 1}, del("solo-sid", "solo", 1, false))
	measure("DeleteBySIDAndSubject several, mismatch", 2, map[string]int{"zrange": 1, "hmget": n, "eval": 0, "del": 0}, del("mixed-sid", "user-0", 0, true))
	measure("DeleteBySIDAndSubject several", 3, map[string]int{"zrange": 1, "hmget": 2 * n, "eval": n, "del": n}, del("same-sid", "same-user", n, false))

	// Logout records: one script on one key to record; LastLogout one
	// HMGET per named record, both in one round trip, none without a sid
	// and a subject.
	ended := sessionstore.Logout{Issuer: s.Issuer, SID: "ended-sid", ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	measure("RecordLogout", 1, map[string]int{"eval": 1, "hmget": 1, "hset": 1, "pexpire": 1}, func() error {
		return st.RecordLogout(ctx, ended)
	})
	last := func(sid, sub string) func() error {
		return func() error {
			r, _, err := st.LastLogout(ctx, s.Issuer, sid, sub)
			if want := sid == ended.SID; err == nil && r.Equal(ended.ReceivedAt) != want {
				t.Errorf("LastLogout(%q, %q) = %v", sid, sub, r)
			}
			return err
		}
	}
	measure("LastLogout sid and subject", 1, map[string]int{"hmget": 2, "eval": 0}, last(ended.SID, "alice"))
	measure("LastLogout sid", 1, map[string]int{"hmget": 1}, last(ended.SID, ""))
	measure("LastLogout neither", 0, map[string]int{"hmget": 0}, last("", ""))

	// SingleUse: one command each.
	used := newSingleUse(t, redisstore.SingleUseConfig{Client: c})
	k := sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: s.Issuer, ID: "jti"}
	measure("SingleUse.Use", 1, map[string]int{"set": 1, "exists": 0}, func() error {
		_, err := used.Use(ctx, k, now.Add(time.Hour))
		return err
	})
	measure("SingleUse.Use already expired", 1, map[string]int{"set": 0, "exists": 1}, func() error {
		_, err := used.Use(ctx, k, now)
		return err
	})
	measure("SingleUse.Forget", 1, map[string]int{"del": 1}, func() error { return used.Forget(ctx, k) })
}
