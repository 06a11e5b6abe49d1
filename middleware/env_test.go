package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// env is one test OP and one application using the middleware, both over
// real HTTP on loopback, and a browser-like client with a cookie jar.
type env struct {
	t      *testing.T
	op     *testop.OP
	app    *httptest.Server
	m      *middleware.Auth
	store  sessionstore.Store
	client *rp.Client
	jar    http.CookieJar
	http   *http.Client

	mu     sync.Mutex
	events []logout.Event
	logBuf bytes.Buffer // what the middleware logged, under mu
	ended  bool         // the test ended: drop logs of background work, under mu
}

// logWriter tees the middleware's logs to the test output and e.logBuf.
type logWriter struct{ e *env }

func (w logWriter) Write(p []byte) (int, error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	if w.e.ended {
		return len(p), nil
	}
	w.e.logBuf.Write(p)
	return w.e.t.Output().Write(p)
}

// logs returns what the middleware logged so far.
func (e *env) logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logBuf.String()
}

type envOptions struct {
	opConfig     testop.Config
	store        sessionstore.Store
	mwConfig     func(*middleware.Config)
	noPostLogout bool
	// backChannel registers the app's backchannel_logout_uri at the OP.
	backChannel bool
	// rpConfig changes the client's configuration.
	rpConfig func(*rp.Config)
	// mux adds routes to the app.
	mux func(*http.ServeMux, *middleware.Auth)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	op, err := testop.Start(o.opConfig, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })

	e := &env{t: t, op: op}
	t.Cleanup(func() {
		e.mu.Lock()
		e.ended = true
		e.mu.Unlock()
	})
	mux := http.NewServeMux()
	e.app = httptest.NewServer(mux)
	t.Cleanup(e.app.Close)

	reg := testop.Client{
		ID:                     "app",
		Secret:                 "app-secret",
		RedirectURIs:           []string{e.app.URL + "/callback"},
		PostLogoutRedirectURIs: []string{e.app.URL + "/logged-out"},
	}
	if o.backChannel {
		reg.BackChannelLogoutURI = e.app.URL + "/backchannel-logout"
	}
	if err := op.AddClient(reg); err != nil {
		t.Fatal(err)
	}
	rc := rp.Config{
		Issuer:                op.Issuer(),
		ClientID:              "app",
		ClientSecret:          "app-secret",
		RedirectURL:           e.app.URL + "/callback",
		PostLogoutRedirectURL: e.app.URL + "/logged-out",
	}
	if o.noPostLogout {
		rc.PostLogoutRedirectURL = ""
	}
	if o.rpConfig != nil {
		o.rpConfig(&rc)
	}
	e.client, err = rp.New(t.Context(), rc)
	if err != nil {
		t.Fatal(err)
	}
	e.store = o.store
	if e.store == nil {
		e.store = memstore.New(memstore.Config{})
	}
	cfg := middleware.Config{
		Client: e.client,
		Store:  e.store,
		Logger: slog.New(slog.NewTextHandler(logWriter{e}, nil)),
		OnLogout: func(_ context.Context, ev logout.Event) {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
		},
	}
	if o.mwConfig != nil {
		o.mwConfig(&cfg)
	}
	e.m, err = middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m.Register(mux)
	if o.mux != nil {
		o.mux(mux, e.m)
	}
	mux.Handle("GET /{$}", e.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			io.WriteString(w, "hello "+s.Subject)
			return
		}
		io.WriteString(w, "anonymous")
	})))
	mux.Handle("/private/", e.m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		io.WriteString(w, "private "+s.Subject+" "+s.SID)
	})))
	e.jar, _ = cookiejar.New(nil)
	e.http = &http.Client{Jar: e.jar, Transport: browserTransport{}}
	return e
}

// browserTransport sends what a browser sends with a top-level navigation
// (Accept: text/html), unless the request says otherwise.
type browserTransport struct{}

func (browserTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// get fetches path (relative to the app, or absolute) following redirects
// and returns the final response's status, URL and body.
func (e *env) get(path string) (int, *url.URL, string) {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, nil)
}

func (e *env) do(method, path string, form url.Values, hdr http.Header) (int, *url.URL, string) {
	e.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = e.app.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(b)
}

// noRedirect returns a client sharing e's jar that stops at the first
// response.
func (e *env) noRedirect() *http.Client {
	return &http.Client{Jar: e.jar, Transport: browserTransport{}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// login runs the whole login and checks it ended at the landing page.
func (e *env) login() {
	e.t.Helper()
	code, u, body := e.get("/login")
	if code != http.StatusOK || u.Path != "/" || body != "hello alice" {
		e.t.Fatalf("login ended at %d %s %q", code, u, body)
	}
}

func (e *env) cookie(name string) string {
	u, _ := url.Parse(e.app.URL)
	for _, c := range e.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (e *env) sessionID() string {
	tok := e.cookie("slo")
	if tok == "" {
		return ""
	}
	return middleware.SessionID(tok)
}

func (e *env) logoutEvents() []logout.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]logout.Event(nil), e.events...)
}

// failingStore fails every call with err once fail is set.
type failingStore struct {
	sessionstore.Store
	mu   sync.Mutex
	fail bool
}

var errBroken = errors.New("store is down")

func (f *failingStore) broken() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

func (f *failingStore) set(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func (f *failingStore) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	if f.broken() {
		return nil, errBroken
	}
	return f.Store.Get(ctx, id)
}

func (f *failingStore) Create(ctx context.Context, s *sessionstore.Session) error {
	if f.broken() {
		return errBroken
	}
	return f.Store.Create(ctx, s)
}

func (f *failingStore) Update(ctx context.Context, s *sessionstore.Session) error {
	if f.broken() {
		return errBroken
	}
	return f.Store.Update(ctx, s)
}

func (f *failingStore) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	if f.broken() {
		return nil, errBroken
	}
	return f.Store.Delete(ctx, id)
}
