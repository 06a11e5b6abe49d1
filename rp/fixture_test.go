package rp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oidc-slo/slo/rp"
)

// t0 is the fixed time of the fake clock.
var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const (
	testClientID = "app"
	testSecret   = "a-client-secret-that-is-long-enough-for-hs512-keys-0123456789abcdef"
)

// clock is an injectable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock          { c := &clock{}; c.ns.Store(t0.UnixNano()); return c }
func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) {
	c.ns.Add(int64(d))
}

// fakeOP is a minimal OP for unit tests: discovery, JWKS, token and
// revocation endpoints, with every response under the test's control.
type fakeOP struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	clock  *clock
	key    *rsa.PrivateKey
	kid    string

	mu        sync.Mutex
	meta      map[string]any
	jwks      []jose.JSONWebKey
	jwksBlock chan struct{} // if non-nil, JWKS requests wait for it to close
	jwksCache string        // Cache-Control of JWKS responses ("" for none)
	jwksAge   string        // Age of JWKS responses ("" for none)
	jwksFail  bool          // if set, the JWKS endpoint answers 503
	idToken   string        // id_token of the next token response ("" for none)
	tokenErr  string        // if set, the token endpoint answers this OAuth error
	extra     map[string]any
	tokenReqs []*http.Request
	tokenForm []url.Values
	revokes   []url.Values
	revokeReq []*http.Request

	// The UserInfo endpoint answers userinfo with userinfoType (default
	// application/json) and userinfoStatus (default 200), and records the
	// Authorization headers it receives.
	userinfo       string
	userinfoType   string
	userinfoStatus int
	userinfoAuth   []string

	jwksHits      atomic.Int32
	discoveryHits atomic.Int32
	discoveryDown atomic.Bool // if set, discovery answers 503
}

func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	op := &fakeOP{t: t, clock: newClock(), key: opKey(), kid: "k1"}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL
	op.jwks = []jose.JSONWebKey{{Key: op.key.Public(), KeyID: op.kid, Algorithm: "RS256", Use: "sig"}}
	op.meta = map[string]any{
		"issuer":                                         op.issuer,
		"authorization_endpoint":                         op.issuer + "/authorize?tenant=t1",
		"token_endpoint":                                 op.issuer + "/token",
		"jwks_uri":                                       op.issuer + "/jwks",
		"end_session_endpoint":                           op.issuer + "/logout?tenant=t1",
		"revocation_endpoint":                            op.issuer + "/revoke",
		"userinfo_endpoint":                              op.issuer + "/userinfo",
		"check_session_iframe":                           op.issuer + "/check",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"frontchannel_logout_supported":                  true,
		"frontchannel_logout_session_supported":          true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"authorization_response_iss_parameter_supported": true,
	}
	return op
}

// Key generation is slow under -race: the OP key and one "other" key are
// made once per test binary.
var (
	opKey    = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	otherKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// rsaKey returns an RSA key that is not the OP's.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	return otherKey()
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		op.discoveryHits.Add(1)
		if op.discoveryDown.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		op.mu.Lock()
		body, _ := json.Marshal(op.meta)
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	case "/jwks":
		op.jwksHits.Add(1)
		op.mu.Lock()
		block, cacheControl, age, fail := op.jwksBlock, op.jwksCache, op.jwksAge, op.jwksFail
		body, _ := json.Marshal(jose.JSONWebKeySet{Keys: op.jwks})
		op.mu.Unlock()
		if block != nil {
			<-block
		}
		if fail {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		if age != "" {
			w.Header().Set("Age", age)
		}
		w.Write(body)
	case "/token":
		r.ParseForm()
		op.mu.Lock()
		op.tokenReqs = append(op.tokenReqs, r)
		op.tokenForm = append(op.tokenForm, r.PostForm)
		idt, tokenErr := op.idToken, op.tokenErr
		resp := map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"}
		maps.Copy(resp, op.extra)
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if tokenErr != "" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": tokenErr})
			return
		}
		if idt != "" {
			resp["id_token"] = idt
		}
		json.NewEncoder(w).Encode(resp)
	case "/revoke":
		r.ParseForm()
		op.mu.Lock()
		op.revokes = append(op.revokes, r.PostForm)
		op.revokeReq = append(op.revokeReq, r)
		op.mu.Unlock()
		if r.PostForm.Get("token") == "bad" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"unsupported_token_type"}`))
		}
	case "/userinfo":
		op.mu.Lock()
		op.userinfoAuth = append(op.userinfoAuth, r.Header.Get("Authorization"))
		body, typ, status := op.userinfo, op.userinfoType, op.userinfoStatus
		op.mu.Unlock()
		if typ == "" {
			typ = "application/json"
		}
		w.Header().Set("Content-Type", typ)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="op", error="invalid_token", error_description="expired"`)
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		io.WriteString(w, body)
	default:
		http.NotFound(w, r)
	}
}

// setUserinfo sets how the UserInfo endpoint answers.
func (op *fakeOP) setUserinfo(body, contentType string, status int) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.userinfo, op.userinfoType, op.userinfoStatus = body, contentType, status
}

func (op *fakeOP) setMeta(k string, v any) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if v == nil {
		delete(op.meta, k)
		return
	}
	op.meta[k] = v
}

// setJWKS sets the OP's published keys and how the JWKS endpoint answers.
func (op *fakeOP) setJWKS(keys []jose.JSONWebKey, cacheControl string, fail bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.jwks, op.jwksCache, op.jwksFail = keys, cacheControl, fail
}

func (op *fakeOP) setIDToken(s string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.idToken = s
}

// config returns a valid client Config for the OP.
func (op *fakeOP) config() rp.Config {
	return rp.Config{
		Issuer:                op.issuer,
		ClientID:              testClientID,
		ClientSecret:          testSecret,
		RedirectURL:           "http://127.0.0.1/callback",
		PostLogoutRedirectURL: "http://localhost/logged-out",
		Now:                   op.clock.Now,
		HTTPClient:            op.srv.Client(),
	}
}

func (op *fakeOP) client(t testing.TB, edit ...func(*rp.Config)) *rp.Client {
	t.Helper()
	cfg := op.config()
	for _, e := range edit {
		e(&cfg)
	}
	c, err := rp.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("rp.New: %v", err)
	}
	return c
}

// claims returns valid ID token claims for nonce.
func (op *fakeOP) claims(nonce string) map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"iss":   op.issuer,
		"sub":   "alice",
		"aud":   testClientID,
		"exp":   now.Add(5 * time.Minute).Unix(),
		"iat":   now.Unix(),
		"nonce": nonce,
		"sid":   "sid-1",
	}
}

// signOpts choose how sign signs.
type signOpts struct {
	alg    jose.SignatureAlgorithm
	key    any
	kid    string
	noKID  bool
	header map[jose.HeaderKey]any
}

// sign signs claims with the OP key (RS256, kid k1) unless o says otherwise.
func (op *fakeOP) sign(claims map[string]any, o signOpts) string {
	op.t.Helper()
	if o.alg == "" {
		o.alg = jose.RS256
	}
	if o.key == nil {
		o.key = op.key
	}
	if o.kid == "" && !o.noKID {
		o.kid = op.kid
	}
	opts := &jose.SignerOptions{}
	for k, v := range o.header {
		opts.WithHeader(k, v)
	}
	key := jose.SigningKey{Algorithm: o.alg, Key: o.key}
	if o.kid != "" {
		key.Key = jose.JSONWebKey{Key: o.key, KeyID: o.kid}
	}
	s, err := jose.NewSigner(key, opts)
	if err != nil {
		op.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		op.t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		op.t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		op.t.Fatal(err)
	}
	return out
}

// unsigned returns an alg=none JWT.
func unsigned(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// callbackParams returns a successful authorization response for st.
func (op *fakeOP) callbackParams(st *rp.LoginState) url.Values {
	return url.Values{
		"code":          {"code-1"},
		"state":         {st.State},
		"iss":           {op.issuer},
		"session_state": {"ss-1"},
	}
}

// leftHalfHash is the at_hash of an access token for RS256.
func leftHalfHash(s string) string {
	h := crypto.SHA256.New()
	h.Write([]byte(s))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// rename makes the OP answer as issuer (a non-loopback http URL such as
// "http://keycloak:8080") and returns an HTTP client that reaches the
// test server under that name, as a docker-compose network would.
func (op *fakeOP) rename(issuer string) *http.Client {
	op.t.Helper()
	old := op.issuer
	op.mu.Lock()
	for k, v := range op.meta {
		if s, ok := v.(string); ok && strings.HasPrefix(s, old) {
			op.meta[k] = issuer + strings.TrimPrefix(s, old)
		}
	}
	op.mu.Unlock()
	op.issuer = issuer
	addr := op.srv.Listener.Addr().String()
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// find returns the records at level whose message contains substr.
func (h *logRecorder) find(level slog.Level, substr string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.records {
		if r.Level == level && strings.Contains(r.Message, substr) {
			out = append(out, r)
		}
	}
	return out
}
