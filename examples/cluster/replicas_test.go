package main

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
)

// routingProxy is the test's load balancer. A request carrying X-Route
// goes to the replica it names; any other request (the OP's back-channel
// POSTs) goes to the default replica. It records which replica answered
// what, from the replicas' X-Replica header.
type routingProxy struct {
	srv *httptest.Server

	mu       sync.Mutex
	backends map[string]*url.URL
	def      string
	hits     []hit
}

type hit struct{ method, path, replica string }

func newRoutingProxy(t *testing.T) *routingProxy {
	p := &routingProxy{backends: map[string]*url.URL{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.Lock()
			defer p.mu.Unlock()
			b, ok := p.backends[r.In.Header.Get("X-Route")]
			if !ok {
				b = p.backends[p.def]
			}
			r.SetURL(b)
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.hits = append(p.hits, hit{resp.Request.Method, resp.Request.URL.Path, resp.Header.Get("X-Replica")})
			return nil
		},
	}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *routingProxy) set(name, base string) {
	u, _ := url.Parse(base)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[name] = u
}

func (p *routingProxy) setDefault(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.def = name
}

// answered returns the replicas that answered method path, in order.
func (p *routingProxy) answered(method, path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, h := range p.hits {
		if h.method == method && h.path == path {
			out = append(out, h.replica)
		}
	}
	return out
}

// routeTransport sets X-Route on the browser's requests to the proxy, per
// path, and remembers the last callback request; next sends them.
type routeTransport struct {
	host  string
	route func(path string) string
	next  http.RoundTripper

	mu             sync.Mutex
	callbackURL    string
	callbackCookie string
}

func (rt *routeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == rt.host {
		req = req.Clone(req.Context())
		req.Header.Set("X-Route", rt.route(req.URL.Path))
		if req.URL.Path == "/callback" {
			rt.mu.Lock()
			rt.callbackURL, rt.callbackCookie = req.URL.String(), req.Header.Get("Cookie")
			rt.mu.Unlock()
		}
	}
	return rt.next.RoundTrip(req)
}

// TestReplicas runs two replicas as separate processes sharing one store,
// behind a proxy whose URL is the public URL of both. The user logs in
// through replica 1 (the OP's redirect back lands on replica 2); the OP's
// back-channel logout is posted to replica 2; replica 1 then no longer
// knows the user.
func TestReplicas(t *testing.T) {
	bin := buildApp(t)
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) { testReplicas(t, bin, kind) })
	}
}

func testReplicas(t *testing.T, bin, kind string) {
	ctx := t.Context()
	shared := newSharedStore(t, kind)
	op := startOP(t)
	proxy := newRoutingProxy(t)
	public := proxy.srv.URL
	register(t, op, public)

	key := hex.EncodeToString(randomKey())
	args := []string{
		"-store", shared.url, "-prefix", shared.prefix,
		"-issuer", op.Issuer(), "-client-id", "app", "-client-secret", "app-secret",
		"-key", key, "-public-url", public,
	}
	r1 := startReplica(t, bin, "r1", args...)
	r2 := startReplica(t, bin, "r2", args...)
	proxy.set("r1", r1.base)
	proxy.set("r2", r2.base)
	proxy.setDefault("r1")

	// The test reads the store itself, with the same prefix.
	b, err := openBackend(ctx, shared.url, shared.prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	// Login: /login on r1, the OP's redirect to /callback on r2 (the
	// shared Key opens r1's login cookie there), then r1 again.
	rt := &routeTransport{host: strings.TrimPrefix(public, "http://"), route: func(path string) string {
		if path == "/callback" {
			return "r2"
		}
		return "r1"
	}}
	browser := rptest.NewBrowser()
	rt.next, browser.Transport = browser.Transport, rt
	code, final, body := get(t, browser, public+"/login?return_to=/whoami")
	if code != http.StatusOK || !strings.HasSuffix(final, "/whoami") {
		t.Fatalf("login ended at %d %s: %q", code, final, body)
	}
	if got := proxy.answered("GET", "/login"); len(got) != 1 || got[0] != "r1" {
		t.Fatalf("/login answered by %v, want r1", got)
	}
	if got := proxy.answered("GET", "/callback"); len(got) != 1 || got[0] != "r2" {
		t.Fatalf("/callback answered by %v, want r2", got)
	}
	st := whoami(t, browser, public+"/whoami")
	if st.Replica != "r1" || !st.LoggedIn || st.Subject != "alice" || st.SID == "" {
		t.Fatalf("r1 after login: %+v", st)
	}
	sids := op.SIDs("alice")
	if len(sids) != 1 || sids[0] != st.SID {
		t.Fatalf("OP sids %v, session sid %q", sids, st.SID)
	}
	rt.route = func(string) string { return "r2" }
	if st2 := whoami(t, browser, public+"/whoami"); st2.Replica != "r2" || !st2.LoggedIn || st2.SID != st.SID {
		t.Fatalf("r2 with the same cookie: %+v", st2)
	}
	var token string
	pu, _ := url.Parse(public)
	for _, c := range browser.Jar.Cookies(pu) {
		if c.Name == "slo" {
			token = c.Value
		}
	}
	if _, err := b.Store.Get(ctx, middleware.SessionID(token)); err != nil {
		t.Fatalf("session in the shared store: %v", err)
	}

	// The login state was consumed on r2: replaying the callback request,
	// login cookie included, on r1 is refused by the shared SingleUse.
	rt.mu.Lock()
	cbURL, cbCookie := rt.callbackURL, rt.callbackCookie
	rt.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r1.base+strings.TrimPrefix(cbURL, public), nil)
	navigate(req)
	req.Header.Set("Cookie", cbCookie)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback replayed on r1: %d, want 400", resp.StatusCode)
	}
	if !r1.out.waitFor("the login's state was already used") {
		t.Fatalf("r1 did not log the replayed state as used; its output:\n%s", r1.out.String())
	}

	// The OP ends its session and posts the logout token; the proxy sends
	// it to r2.
	proxy.setDefault("r2")
	ds := op.EndSession(ctx, st.SID).BackChannel
	if len(ds) != 1 || ds[0].Status != http.StatusOK || ds[0].Err != nil || ds[0].URL != public+"/backchannel-logout" {
		t.Fatalf("back-channel deliveries = %+v", ds)
	}
	if got := proxy.answered("POST", "/backchannel-logout"); len(got) != 1 || got[0] != "r2" {
		t.Fatalf("back-channel logout answered by %v, want r2", got)
	}

	// r1, with the same cookie, no longer knows the user.
	rt.route = func(string) string { return "r1" }
	if st := whoami(t, browser, public+"/whoami"); st.Replica != "r1" || st.LoggedIn {
		t.Fatalf("r1 after the back-channel logout on r2: %+v", st)
	}
	if _, err := b.Store.Get(ctx, middleware.SessionID(token)); !errors.Is(err, sessionstore.ErrNotFound) {
		t.Fatalf("session after logout: %v, want ErrNotFound", err)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, r1.base+"/private", nil)
	navigate(req)
	req.AddCookie(&http.Cookie{Name: "slo", Value: token})
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("r1 /private with the old cookie: %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The same logout token again, now to r1: the shared SingleUse
	// knows it (a fresh token for the ended sid would get 200).
	form := url.Values{"logout_token": {ds[0].LogoutToken}}
	resp, err = http.PostForm(r1.base+"/backchannel-logout", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed logout token on r1: %d, want 400", resp.StatusCode)
	}
	fresh := op.LogoutToken("app", "alice", st.SID)
	resp, err = http.PostForm(r1.base+"/backchannel-logout", url.Values{"logout_token": {fresh}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh logout token for the ended sid on r1: %d, want 200", resp.StatusCode)
	}
}
