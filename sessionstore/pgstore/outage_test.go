package pgstore_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/pgstore"
	"github.com/oidc-slo/slo/sessionstore/storetest"
)

// proxy forwards TCP connections from a loopback port to the database, and
// can be stopped (closing every connection) and started again on the same
// port: a database outage without touching the shared server.
type proxy struct {
	t      *testing.T
	addr   string // listen address, fixed after the first start
	target string

	mu      sync.Mutex
	ln      net.Listener
	stopped bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func (p *proxy) start() {
	p.t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.conns, p.stopped = ln, ln.Addr().String(), map[net.Conn]struct{}{}, false
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c)
			}()
		}
	}()
}

func (p *proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// stop closes the listener and every proxied connection and waits until
// all proxy goroutines have ended.
func (p *proxy) stop() {
	p.mu.Lock()
	p.stopped = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestOutage cuts the store off from PostgreSQL: every method must fail with
// an error (not ErrNotFound, not a zero count, no panic); once the database
// is reachable again the same pool works without being recreated.
func TestOutage(t *testing.T) {
	direct := testPool(t)
	table := tempTable(t, direct)
	if err := pgstore.CreateSchema(t.Context(), direct, table); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.CreateSingleUseSchema(t.Context(), direct, table+"_used"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropTables(t, direct, table+"_used") })

	u, err := url.Parse(dsn())
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u.Host}
	p.start()
	t.Cleanup(p.stop)
	u.Host = p.addr
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := newStore(t, pgstore.Config{Pool: pool, Table: table})
	used, err := pgstore.NewSingleUse(pgstore.SingleUseConfig{Pool: pool, Table: table + "_used"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Now()
	sess := func(id string) *sessionstore.Session {
		return &sessionstore.Session{ID: id, Issuer: "https://op.example", Subject: "alice", SID: "sid-" + id,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	a := sess("a")
	if err := st.Create(ctx, a); err != nil {
		t.Fatal(err)
	}

	jti := sessionstore.Key{Namespace: sessionstore.LogoutTokens, Issuer: a.Issuer, ID: "jti"}
	p.stop()
	storetest.Unavailable(t, st, a,
		storetest.Call{Name: "DeleteExpired", Call: func(ctx context.Context) error { _, err := st.DeleteExpired(ctx); return err }},
		storetest.Call{Name: "Forget", Call: func(ctx context.Context) error { return used.Forget(ctx, jti) }},
		storetest.Call{Name: "Use", Call: func(ctx context.Context) error {
			_, err := used.Use(ctx, jti, now.Add(time.Hour))
			return err
		}},
		storetest.Call{Name: "Use of an expired key", Call: func(ctx context.Context) error {
			_, err := used.Use(ctx, jti, now.Add(-time.Hour))
			return err
		}},
		storetest.Call{Name: "SingleUse.DeleteExpired", Call: func(ctx context.Context) error { _, err := used.DeleteExpired(ctx); return err }},
	)

	p.start() // same port
	if got, err := st.Get(ctx, a.ID); err != nil || got.ID != a.ID {
		t.Fatalf("Get after the outage = %v, %v; want the session", got, err)
	}
	if ended, err := st.DeleteBySubject(ctx, a.Issuer, a.Subject); err != nil || len(ended) != 1 {
		t.Fatalf("DeleteBySubject after the outage = %d sessions, %v; want 1", len(ended), err)
	}
	if u, err := used.Use(ctx, jti, now.Add(time.Hour)); err != nil || u {
		t.Fatalf("Use after the outage = %v, %v; want false", u, err)
	}
	l := sessionstore.Logout{Issuer: a.Issuer, SID: a.SID, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.RecordLogout(ctx, l); err != nil {
		t.Fatalf("RecordLogout after the outage: %v", err)
	}
	if r, _, err := st.LastLogout(ctx, a.Issuer, a.SID, ""); err != nil || !r.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("LastLogout after the outage = %v, %v; want %v", r, err, now)
	}
}
