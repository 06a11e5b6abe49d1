package redisstore_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/redisstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

var b64 = base64.RawURLEncoding.EncodeToString

// TestKeyLayout pins the key layout documented in README.md and the TTLs:
// the record lives as long as the session, each index a minute longer.
func TestKeyLayout(t *testing.T) {
	c := localClient(t)
	prefix := randomPrefix(t, c)
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix})
	ctx := t.Context()
	now := time.Now()
	s := &sessionstore.Session{ID: "id:1", Issuer: "https://op.example", Subject: "alice", SID: "sid{1}",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	record := prefix + "s:" + b64([]byte(s.ID))
	bySID := prefix + "sid:" + b64([]byte(s.Issuer)) + ":" + b64([]byte(s.SID))
	bySub := prefix + "sub:" + b64([]byte(s.Issuer)) + ":" + b64([]byte(s.Subject))
	fields, err := c.HGetAll(ctx, record).Result()
	if err != nil || fields["iss"] != s.Issuer || fields["sub"] != s.Subject || fields["sid"] != s.SID ||
		fields["exp"] != fmt.Sprintf("%020d", s.ExpiresAt.UnixNano()) || fields["json"] == "" {
		t.Errorf("record %s = %v, %v", record, fields, err)
	}
	for _, k := range []struct {
		key      string
		min, max time.Duration
	}{
		{record, 59 * time.Minute, time.Hour},
		{bySID, time.Hour, 61*time.Minute + time.Second},
		{bySub, time.Hour, 61*time.Minute + time.Second},
	} {
		ttl, err := c.PTTL(ctx, k.key).Result()
		if err != nil || ttl < k.min || ttl > k.max {
			t.Errorf("TTL of %s = %v, %v; want within [%v, %v]", k.key, ttl, err, k.min, k.max)
		}
	}
	for _, key := range []string{bySID, bySub} {
		ids, err := c.ZRange(ctx, key, 0, -1).Result()
		if err != nil || len(ids) != 1 || ids[0] != s.ID {
			t.Errorf("index %s = %q, %v; want [%q]", key, ids, err, s.ID)
		}
	}
}

// TestIndexBounded: deleted sessions' index entries are dropped once they
// would have expired, so a subject that logs in again and again does not
// grow its index without bound.
func TestIndexBounded(t *testing.T) {
	c := localClient(t)
	prefix := randomPrefix(t, c)
	clock := storetest.NewClock(time.Now())
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix, Now: clock.Now})
	ctx := t.Context()
	for i := range 50 {
		now := clock.Now()
		s := &sessionstore.Session{ID: "id-" + strconv.Itoa(i), Issuer: "iss", Subject: "alice",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		if ended, err := st.Delete(ctx, s.ID); err != nil || ended == nil || ended.ID != s.ID {
			t.Fatalf("Delete = %v, %v", ended, err)
		}
		clock.Advance(2 * time.Hour)
	}
	key := prefix + "sub:" + b64([]byte("iss")) + ":" + b64([]byte("alice"))
	if n, err := c.ZCard(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("index holds %d entries, %v; want 1 (the latest)", n, err)
	}
}

// TestNoResurrection deletes sessions while Updates run against them and
// checks at the key level that no record was written back, not even an
// expired one.
func TestNoResurrection(t *testing.T) {
	c := localClient(t)
	prefix := randomPrefix(t, c)
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix})
	ctx := t.Context()
	now := time.Now()
	var ss []*sessionstore.Session
	for i := range 20 {
		s := &sessionstore.Session{ID: "id-" + strconv.Itoa(i), Issuer: "iss", Subject: "sub-" + strconv.Itoa(i),
			SID: "shared", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	// Each updater reports once when its first Update is done, and once
	// when an Update that began after the delete is done.
	var deleted atomic.Bool
	before, after := make(chan struct{}, len(ss)), make(chan struct{}, len(ss))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(func() {
			u := s.Clone()
			u.ExpiresAt = u.ExpiresAt.Add(time.Hour)
			reportedAfter := false
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				late := deleted.Load()
				err := st.Update(ctx, u)
				if i == 0 {
					if err != nil {
						t.Errorf("first Update(%q) = %v", u.ID, err)
					}
					before <- struct{}{}
				}
				if late && !reportedAfter {
					if !errors.Is(err, sessionstore.ErrNotFound) {
						t.Errorf("Update(%q) after DeleteBySID = %v, want ErrNotFound", u.ID, err)
					}
					after <- struct{}{}
					reportedAfter = true
				}
			}
		})
	}
	for range ss {
		<-before
	}
	ended, err := st.DeleteBySID(ctx, "iss", "shared")
	if err != nil || len(ended) != len(ss) {
		t.Errorf("DeleteBySID = %d sessions, %v; want %d", len(ended), err, len(ss))
	}
	deleted.Store(true)
	for range ss {
		<-after
	}
	close(stop)
	wg.Wait()
	for _, s := range ss {
		if n, err := c.Exists(ctx, prefix+"s:"+b64([]byte(s.ID))).Result(); err != nil || n != 0 {
			t.Errorf("record %q exists after DeleteBySID (%v)", s.ID, err)
		}
	}
}

// TestLogoutRecordLayout pins the logout records' keys and fields
// documented in README.md, and their TTLs: a record lives until its latest
// ExpiresAt; a later record with an earlier ExpiresAt never shortens it.
func TestLogoutRecordLayout(t *testing.T) {
	c := localClient(t)
	prefix := randomPrefix(t, c)
	st := newStore(t, redisstore.Config{Client: c, Prefix: prefix})
	ctx := t.Context()
	now := time.Now()
	iss := "https://op.example"
	bySID := prefix + "lo-sid:" + b64([]byte(iss)) + ":" + b64([]byte("sid{1}"))
	bySub := prefix + "lo-sub:" + b64([]byte(iss)) + ":" + b64([]byte("alice"))
	stamp := func(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }
	record := func(l sessionstore.Logout) {
		t.Helper()
		if err := st.RecordLogout(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	check := func(key string, r, i, e time.Time, minTTL, maxTTL time.Duration) {
		t.Helper()
		fields, err := c.HGetAll(ctx, key).Result()
		want := map[string]string{"r": stamp(r), "i": fmt.Sprintf("%020d", 0), "e": stamp(e)}
		if !i.IsZero() {
			want["i"] = stamp(i)
		}
		if err != nil || !maps.Equal(fields, want) {
			t.Errorf("%s = %v, %v; want %v", key, fields, err, want)
		}
		if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl < minTTL || ttl > maxTTL {
			t.Errorf("TTL of %s = %v, %v; want within [%v, %v]", key, ttl, err, minTTL, maxTTL)
		}
	}
	record(sessionstore.Logout{Issuer: iss, SID: "sid{1}", Subject: "alice", ReceivedAt: now, IssuedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)})
	check(bySID, now, now.Add(-time.Second), now.Add(time.Hour), 59*time.Minute, time.Hour)
	if n, err := c.Exists(ctx, bySub).Result(); err != nil || n != 0 {
		t.Errorf("a sid logout wrote the subject's record (%d, %v)", n, err)
	}
	// Earlier times and expiry: nothing moves back.
	record(sessionstore.Logout{Issuer: iss, SID: "sid{1}", ReceivedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Minute)})
	check(bySID, now, now.Add(-time.Second), now.Add(time.Hour), 59*time.Minute, time.Hour)
	// A later expiry moves the TTL.
	record(sessionstore.Logout{Issuer: iss, SID: "sid{1}", ReceivedAt: now, ExpiresAt: now.Add(2 * time.Hour)})
	check(bySID, now, now.Add(-time.Second), now.Add(2*time.Hour), 119*time.Minute, 2*time.Hour)

	record(sessionstore.Logout{Issuer: iss, Subject: "alice", ReceivedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	check(bySub, now, time.Time{}, now.Add(10*time.Minute), 9*time.Minute, 10*time.Minute)
	// An already expired record writes no key.
	record(sessionstore.Logout{Issuer: iss, SID: "gone", ReceivedAt: now, ExpiresAt: now.Add(-time.Millisecond)})
	if n, err := c.Exists(ctx, prefix+"lo-sid:"+b64([]byte(iss))+":"+b64([]byte("gone"))).Result(); err != nil || n != 0 {
		t.Errorf("an already expired logout record was written (%d, %v)", n, err)
	}
	if err := st.RecordLogout(ctx, sessionstore.Logout{Issuer: iss, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}); err == nil {
		t.Error("RecordLogout without a SID and a Subject succeeded")
	}
}
