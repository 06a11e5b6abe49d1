package rp_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
)

// wantUnavailable fails unless err is an *UnavailableError matching
// ErrOPUnavailable with the given RetryAfter (negative: any).
func wantUnavailable(t *testing.T, what string, err error, retryAfter time.Duration) {
	t.Helper()
	var ue *rp.UnavailableError
	if !errors.Is(err, rp.ErrOPUnavailable) || !errors.As(err, &ue) {
		t.Errorf("%s: error = %v, want an *UnavailableError", what, err)
		return
	}
	if retryAfter >= 0 && ue.RetryAfter != retryAfter {
		t.Errorf("%s: RetryAfter = %v, want %v", what, ue.RetryAfter, retryAfter)
	}
	if !strings.HasPrefix(err.Error(), "rp: ") {
		t.Errorf("%s: error %q does not start with the package name", what, err)
	}
}

// countingTransport counts discovery requests.
type countingTransport struct {
	discovery atomic.Int32
	next      http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		c.discovery.Add(1)
	}
	return c.next.RoundTrip(r)
}

// TestDeferDiscoveryOPStartsLater starts a client while nothing listens on
// the OP's address, then the OP on that address: until discovery succeeds
// every call that needs the OP fails with ErrOPUnavailable, a back-channel
// logout token included (the logout verifier is built at start from
// Keys); the first call after the backoff that needs the OP (here that
// logout token's verification) discovers it, and then the whole flow
// works.
func TestDeferDiscoveryOPStartsLater(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	op, err := testop.New(testop.Config{Issuer: "http://" + addr, Clients: []testop.Client{{
		ID: "app", Secret: e2eSecret,
		RedirectURIs: []string{e2eRedirect}, PostLogoutRedirectURIs: []string{e2eLoggedOut},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })

	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	transport := &countingTransport{next: http.DefaultTransport}
	logs := &logRecorder{}
	c, err := rp.New(t.Context(), rp.Config{
		Issuer: "http://" + addr, ClientID: "app", ClientSecret: e2eSecret,
		RedirectURL: e2eRedirect, PostLogoutRedirectURL: e2eLoggedOut,
		DeferDiscovery: true, Now: clk.Now, Logger: slog.New(logs),
		HTTPClient: &http.Client{Transport: transport},
	})
	if err != nil || c == nil {
		t.Fatalf("New = %v, %v; want a Client", c, err)
	}
	if c.Discovered() || c.Metadata().Issuer != "" {
		t.Fatalf("Discovered = %v, Metadata = %+v before the OP answered", c.Discovered(), c.Metadata())
	}
	if n := len(logs.find(slog.LevelError, "discovery failed")); n != 1 {
		t.Errorf("%d discovery failures logged, want 1", n)
	}
	ks := c.Keys()
	lv, err := logout.NewVerifier(logout.VerifierConfig{Providers: []logout.Provider{logout.ProviderFromClient(c)}})
	if err != nil {
		t.Fatal(err)
	}
	logoutToken := op.SignLogoutToken(op.LogoutClaims("app", "alice", "sid-1"))

	// Before the OP is up, and within the backoff: every call fails at
	// once, without a request.
	err = c.Ready(t.Context())
	wantUnavailable(t, "Ready", err, time.Second)
	if !strings.Contains(err.Error(), "rp: discovery") {
		t.Errorf("Ready error %q does not give the cause", err)
	}
	_, _, err = c.Login()
	wantUnavailable(t, "Login", err, time.Second)
	_, err = c.EndSessionURL(rp.LogoutParams{})
	wantUnavailable(t, "EndSessionURL", err, time.Second)
	rec := httptest.NewRecorder()
	err = c.WriteEndSessionForm(rec, rp.LogoutParams{})
	wantUnavailable(t, "WriteEndSessionForm", err, time.Second)
	if rec.Body.Len() != 0 {
		t.Error("WriteEndSessionForm wrote a page")
	}
	_, err = c.Refresh(t.Context(), "rt", "alice")
	wantUnavailable(t, "Refresh", err, time.Second)
	err = c.Revoke(t.Context(), "rt", "")
	wantUnavailable(t, "Revoke", err, time.Second)
	st := &rp.LoginState{Issuer: "http://" + addr, State: "S", Nonce: "N", CodeVerifier: "verifier-verifier-verifier-verifier-verifier"}
	_, err = c.Callback(t.Context(), url.Values{"state": {"S"}, "code": {"c"}, "iss": {"http://" + addr}}, st)
	wantUnavailable(t, "Callback", err, time.Second)
	_, err = ks.VerifySignature(t.Context(), op.SignIDToken(map[string]any{"iss": op.Issuer(), "sub": "alice", "aud": "app"}))
	wantUnavailable(t, "KeySet.VerifySignature", err, time.Second)
	// The back-channel handler answers 400 to this; the OP retries.
	var ve *logout.ValidationError
	if _, err = lv.Verify(t.Context(), logoutToken); !errors.As(err, &ve) || !errors.Is(err, rp.ErrOPUnavailable) {
		t.Errorf("logout token: error = %v, want a *logout.ValidationError matching ErrOPUnavailable", err)
	}
	if n := transport.discovery.Load(); n != 1 {
		t.Fatalf("%d discovery requests, want 1 (New's)", n)
	}

	// The OP comes up on that address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("starting the OP on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: op}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// Still within the backoff: no attempt.
	clk.Advance(time.Second - time.Millisecond)
	wantUnavailable(t, "Ready within the backoff", c.Ready(t.Context()), time.Millisecond)
	if n := transport.discovery.Load(); n != 1 {
		t.Fatalf("%d discovery requests within the backoff, want 1", n)
	}

	// After it, the OP's retried logout token is verified: the
	// verification retries discovery, then fetches the keys.
	clk.Advance(time.Millisecond)
	if tok, err := lv.Verify(t.Context(), logoutToken); err != nil || tok.SID != "sid-1" {
		t.Fatalf("logout token after the OP came up: %v", err)
	}
	if !c.Discovered() || c.Metadata().Issuer != op.Issuer() || transport.discovery.Load() != 2 {
		t.Fatalf("Discovered = %v, Metadata.Issuer = %q, %d discovery requests", c.Discovered(), c.Metadata().Issuer, transport.discovery.Load())
	}
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	// The whole flow works.
	b := newBrowser(t)
	authURL, st, err := c.Login()
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Callback(t.Context(), follow(t, b, authURL, e2eRedirect), st)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	ref, err := c.Refresh(t.Context(), res.Token.RefreshToken, res.Subject)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := c.Revoke(t.Context(), ref.Token.RefreshToken, "refresh_token"); err != nil || !op.Revoked(ref.Token.RefreshToken) {
		t.Fatalf("Revoke: %v", err)
	}
	endURL, err := c.EndSessionURL(rp.LogoutParams{IDTokenHint: res.RawIDToken, State: "bye"})
	if err != nil {
		t.Fatal(err)
	}
	if q := follow(t, b, endURL, e2eLoggedOut); q.Get("state") != "bye" {
		t.Errorf("post-logout state = %q", q.Get("state"))
	}
	if n := transport.discovery.Load(); n != 2 {
		t.Errorf("%d discovery requests in all, want 2", n)
	}
	if n := len(logs.find(slog.LevelInfo, "discovery succeeded")); n != 1 {
		t.Errorf("%d discovery successes logged, want 1", n)
	}
}

// TestDeferDiscoveryBackoff checks the on-demand retry: after the nth
// failure in a row no attempt is made for min(2ⁿ⁻¹ s, 1 min), each failure
// is logged at Error, and after a success no attempt is made again.
func TestDeferDiscoveryBackoff(t *testing.T) {
	op := newFakeOP(t)
	op.discoveryDown.Store(true)
	logs := &logRecorder{}
	c := op.client(t, func(cfg *rp.Config) {
		cfg.DeferDiscovery = true
		cfg.Logger = slog.New(logs)
	})
	want := time.Second
	for i, next := range []time.Duration{2, 4, 8, 16, 32, 60, 60} {
		hits := op.discoveryHits.Load()
		wantUnavailable(t, "within the backoff", c.Ready(t.Context()), want)
		op.clock.Advance(want - time.Millisecond)
		wantUnavailable(t, "at the end of the backoff", c.Ready(t.Context()), time.Millisecond)
		if got := op.discoveryHits.Load(); got != hits {
			t.Fatalf("failure %d: %d requests within the backoff", i+1, got-hits)
		}
		op.clock.Advance(time.Millisecond)
		err := c.Ready(t.Context())
		want = next * time.Second
		wantUnavailable(t, "after the backoff", err, want)
		if !strings.Contains(err.Error(), "503") {
			t.Errorf("error %q does not give the cause", err)
		}
		if got := op.discoveryHits.Load(); got != hits+1 {
			t.Fatalf("failure %d: %d requests after the backoff, want 1", i+1, got-hits)
		}
	}
	if n := len(logs.find(slog.LevelError, "discovery failed")); n != 8 {
		t.Errorf("%d failures logged, want 8", n)
	}

	op.discoveryDown.Store(false)
	op.clock.Advance(time.Minute)
	if err := c.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	hits := op.discoveryHits.Load()
	for range 3 {
		if err := c.Ready(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Login(); err != nil {
		t.Fatal(err)
	}
	if got := op.discoveryHits.Load(); got != hits {
		t.Errorf("%d discovery requests after success", got-hits)
	}
}

// TestDeferDiscoveryWrongDocumentRetried checks that a discovery document
// that names another issuer is treated like an unreachable OP: logged,
// retried with backoff, and accepted once the OP is fixed.
func TestDeferDiscoveryWrongDocumentRetried(t *testing.T) {
	op := newFakeOP(t)
	op.setMeta("issuer", op.issuer+"/")
	c := op.client(t, func(cfg *rp.Config) {
		cfg.DeferDiscovery = true
		cfg.Logger = slog.New(slog.DiscardHandler)
	})
	err := c.Ready(t.Context())
	wantUnavailable(t, "wrong issuer", err, time.Second)
	if !strings.Contains(err.Error(), "issuer") {
		t.Errorf("error %q does not name the issuer", err)
	}
	op.setMeta("issuer", op.issuer)
	op.clock.Advance(time.Second)
	if err := c.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Without DeferDiscovery the same document fails New.
	op.setMeta("issuer", op.issuer+"/")
	if _, err := rp.New(t.Context(), op.config()); err == nil || errors.Is(err, rp.ErrOPUnavailable) {
		t.Errorf("New without DeferDiscovery: %v", err)
	}
}

// TestDeferDiscoveryConfigErrors checks that DeferDiscovery defers only
// discovery: an invalid Config still fails New, without a request.
func TestDeferDiscoveryConfigErrors(t *testing.T) {
	op := newFakeOP(t)
	cfg := op.config()
	cfg.DeferDiscovery = true
	cfg.RedirectURL = ""
	if c, err := rp.New(t.Context(), cfg); err == nil || c != nil {
		t.Fatalf("New = %v, %v", c, err)
	}
	if n := op.discoveryHits.Load(); n != 0 {
		t.Errorf("%d discovery requests for an invalid Config", n)
	}
}

// TestDeferDiscoveryConcurrentCallers checks that concurrent calls that
// need the OP share one discovery attempt.
func TestDeferDiscoveryConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const issuer = "https://op.example"
		var (
			up    atomic.Bool
			hits  atomic.Int32
			block = make(chan struct{})
		)
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if !up.Load() {
				return nil, errors.New("connection refused")
			}
			if r.URL.Path != "/.well-known/openid-configuration" {
				return &http.Response{
					StatusCode: http.StatusBadRequest,
					Header:     http.Header{"Content-Type": {"application/json"}},
					Body:       io.NopCloser(strings.NewReader(`{"error":"invalid_grant"}`)),
					Request:    r,
				}, nil
			}
			hits.Add(1)
			<-block
			body := `{"issuer":"` + issuer + `","authorization_endpoint":"` + issuer + `/authorize",` +
				`"token_endpoint":"` + issuer + `/token","jwks_uri":"` + issuer + `/jwks"}`
			return &http.Response{
				StatusCode: http.StatusOK,
				Header:     http.Header{"Content-Type": {"application/json"}},
				Body:       io.NopCloser(strings.NewReader(body)),
				Request:    r,
			}, nil
		})
		clk := newClock()
		c, err := rp.New(t.Context(), rp.Config{
			Issuer: issuer, ClientID: "app", RedirectURL: "https://app.example/cb",
			DeferDiscovery: true, Now: clk.Now, Logger: slog.New(slog.DiscardHandler),
			HTTPClient: &http.Client{Transport: transport},
		})
		if err != nil {
			t.Fatal(err)
		}
		up.Store(true)
		clk.Advance(time.Second)

		const n = 16
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if i%2 == 0 {
					errs <- c.Ready(t.Context())
				} else {
					// Refresh waits for discovery, then gets invalid_grant.
					_, err := c.Refresh(t.Context(), "rt", "alice")
					if err == nil || errors.Is(err, rp.ErrOPUnavailable) || !strings.Contains(err.Error(), "invalid_grant") {
						errs <- fmt.Errorf("Refresh: %v", err)
					}
				}
			})
		}
		synctest.Wait() // every caller is blocked: on the one request, or waiting for it
		if got := hits.Load(); got != 1 {
			t.Errorf("%d discovery requests under way for %d callers, want 1", got, n)
		}
		close(block)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if got := hits.Load(); got != 1 || !c.Discovered() {
			t.Errorf("%d discovery requests, Discovered = %v", got, c.Discovered())
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
