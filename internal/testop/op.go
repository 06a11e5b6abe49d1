package testop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Endpoint paths served by an OP.
const (
	PathDiscovery    = "/.well-known/openid-configuration"
	PathJWKS         = "/jwks"
	PathAuthorize    = "/authorize"
	PathToken        = "/token"
	PathRevoke       = "/revoke"
	PathUserinfo     = "/userinfo"
	PathEndSession   = "/end_session"
	PathCheckSession = "/check_session"
	PathBrowserState = "/check_session/state"
)

// Cookies set by an OP.
const (
	// SessionCookieName is the HttpOnly cookie naming the browser's OP session.
	SessionCookieName = "testop_session"
	// BrowserStateCookieName is the JavaScript-readable cookie that holds the
	// OP browser state used in session_state (Session Management 1.0 §4).
	BrowserStateCookieName = "testop_bs"
)

// Config configures an OP. The zero value of every field except Issuer
// (which Start fills in) means something sensible.
type Config struct {
	// Issuer is the issuer identifier, e.g. "http://127.0.0.1:4444", without
	// a trailing slash. Required by New; Start sets it from the listener.
	Issuer string
	// Clients are registered at construction; more can be added with AddClient.
	Clients []Client
	// User is the subject auto-logged-in when a browser has no OP session.
	// Default "alice".
	User string
	// Profiles are claims per subject, added to ID tokens and userinfo
	// responses (name, email, ...). Default: name, email and
	// email_verified for alice, bob and carol; an empty map gives none.
	Profiles map[string]map[string]any
	// AccessTokenTTL is the expires_in of access tokens. Default 1h.
	AccessTokenTTL time.Duration
	// IDTokenTTL is the lifetime of ID tokens. Default 1h.
	IDTokenTTL time.Duration
	// LogoutTokenTTL is the lifetime (exp - iat) of logout tokens. Default 2m.
	LogoutTokenTTL time.Duration
	// SIDFunc returns the sid of each new OP session. Default: crypto/rand.Text.
	// SetNextSID takes precedence for one session.
	SIDFunc func() string
	// NoIssParameter turns off the RFC 9207 iss authorization-response
	// parameter and its discovery flag.
	NoIssParameter bool
	// NoEndSession omits end_session_endpoint from discovery (the endpoint
	// itself still answers).
	NoEndSession bool
	// NoCheckSession omits check_session_iframe from discovery and
	// session_state from authorization responses.
	NoCheckSession bool
	// LegacyLogoutTokens makes back-channel logout tokens follow the
	// pre-2023 text: no exp claim and typ "JWT".
	LegacyLogoutTokens bool
	// OnBackChannel, if set, is called once per back-channel delivery attempt.
	OnBackChannel func(Delivery)
	// HTTPClient delivers back-channel logout tokens. Default: a client with a
	// 5 s timeout.
	HTTPClient *http.Client
	// BackChannelTimeout bounds the whole back-channel delivery of one logout
	// (all clients concurrently). Default 5s.
	BackChannelTimeout time.Duration
	// FrontChannelTimeout is how long the front-channel logout page waits for
	// its iframes before moving on. Default 3s.
	FrontChannelTimeout time.Duration
	// CookieSameSite is the SameSite attribute of the OP cookies. Default
	// http.SameSiteLaxMode; see the package documentation.
	CookieSameSite http.SameSite
	// CookieSecure sets the Secure attribute on the OP cookies.
	CookieSecure bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Client is a registered relying party.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret. Empty means a public client that
	// authenticates with "none".
	Secret string
	// RedirectURIs must match redirect_uri exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs must match post_logout_redirect_uri exactly.
	PostLogoutRedirectURIs []string
	// FrontChannelLogoutURIs are loaded in iframes on logout (several are
	// allowed, as in Sitecore Identity).
	FrontChannelLogoutURIs []string
	// FrontChannelLogoutSessionRequired adds iss and sid to the iframe URLs.
	FrontChannelLogoutSessionRequired bool
	// BackChannelLogoutURI receives logout tokens.
	BackChannelLogoutURI string
	// BackChannelLogoutSessionRequired asks for sid in logout tokens (this OP
	// always sends it).
	BackChannelLogoutSessionRequired bool
	// IDTokenSigningAlg is RS256 (default), ES256 or HS256 (keyed with
	// Secret; go-jose refuses to verify HS256 with a key under 32 bytes).
	// Logout tokens for the client are signed the same way.
	IDTokenSigningAlg string
}

func (c Client) alg() string {
	if c.IDTokenSigningAlg == "" {
		return "RS256"
	}
	return c.IDTokenSigningAlg
}

// OP is a test OpenID Provider. It is an http.Handler; all methods are safe
// for concurrent use.
type OP struct {
	cfg       Config
	mux       *http.ServeMux
	keys      *keySet
	logger    *slog.Logger
	srv       *http.Server
	closeOnce sync.Once

	mu          sync.Mutex
	clients     map[string]Client
	user        string
	nextSID     []string
	sessions    map[string]*opSession // by session cookie value
	codes       map[string]*authCode
	refresh     map[string]*grant
	access      map[string]*grant
	revoked     map[string]bool
	idTokenHook func(claims, header map[string]any)
	idTokenOpts []SignOption
	deliveries  []Delivery
	// endedStates are browser states of ended sessions; a browser still
	// holding one in its cookie gets a fresh anonymous state.
	endedStates map[string]bool
}

// opSession is one OP browser session: one login of one user in one browser.
type opSession struct {
	id           string // cookie value
	sub          string
	sid          string
	authTime     time.Time
	browserState string
	clients      map[string]bool // client IDs that got tokens through this session
}

// New returns an OP for cfg. It does not listen; see Start.
func New(cfg Config) (*OP, error) {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("testop: Config.Issuer is required"))
	} else if u, err := url.Parse(cfg.Issuer); err != nil || u.Scheme == "" || u.Host == "" || strings.HasSuffix(cfg.Issuer, "/") {
		errs = append(errs, fmt.Errorf("testop: Config.Issuer %q must be an absolute URL without trailing slash", cfg.Issuer))
	}
	for _, c := range cfg.Clients {
		if err := c.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.User == "" {
		cfg.User = "alice"
	}
	if cfg.Profiles == nil {
		cfg.Profiles = defaultProfiles()
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = time.Hour
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = time.Hour
	}
	if cfg.LogoutTokenTTL == 0 {
		cfg.LogoutTokenTTL = 2 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.BackChannelTimeout == 0 {
		cfg.BackChannelTimeout = 5 * time.Second
	}
	if cfg.FrontChannelTimeout == 0 {
		cfg.FrontChannelTimeout = 3 * time.Second
	}
	if cfg.CookieSameSite == 0 {
		cfg.CookieSameSite = http.SameSiteLaxMode
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SIDFunc == nil {
		cfg.SIDFunc = rand.Text
	}
	keys, err := newKeySet()
	if err != nil {
		return nil, err
	}
	op := &OP{
		cfg:         cfg,
		keys:        keys,
		logger:      cfg.Logger,
		clients:     make(map[string]Client),
		user:        cfg.User,
		sessions:    make(map[string]*opSession),
		codes:       make(map[string]*authCode),
		refresh:     make(map[string]*grant),
		access:      make(map[string]*grant),
		revoked:     make(map[string]bool),
		endedStates: make(map[string]bool),
	}
	if op.logger == nil {
		op.logger = slog.Default()
	}
	for _, c := range cfg.Clients {
		op.AddClient(c) //nolint:errcheck // validated above
	}
	op.cfg.Clients = nil
	op.routes()
	return op, nil
}

// Start creates an OP listening on addr (default "127.0.0.1:0"). The
// issuer is "http://host:port" where host is the host named in addr
// ("localhost:0" gives "http://localhost:1234"), so tests can give the OP
// and the apps different hosts. cfg.Issuer is ignored.
func Start(cfg Config, addr string) (*OP, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("testop: listen address: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testop: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg.Issuer = "http://" + net.JoinHostPort(host, port)
	op, err := New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	op.srv = &http.Server{Handler: op, ReadHeaderTimeout: 10 * time.Second}
	go op.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return op, nil
}

// Close stops the server started by Start (for an OP made with New there
// is none) and releases the OP's RSA keys for reuse by OPs created later in
// the same process, fresh kids included. The OP must not be used afterwards.
func (op *OP) Close() error {
	var err error
	op.closeOnce.Do(func() {
		if op.srv != nil {
			err = op.srv.Close()
		}
		op.keys.release()
	})
	return err
}

// Issuer returns the issuer identifier.
func (op *OP) Issuer() string { return op.cfg.Issuer }

// ServeHTTP serves the OP's endpoints.
func (op *OP) ServeHTTP(w http.ResponseWriter, r *http.Request) { op.mux.ServeHTTP(w, r) }

func (op *OP) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+PathDiscovery, op.handleDiscovery)
	m.HandleFunc("GET "+PathJWKS, op.handleJWKS)
	m.HandleFunc(PathAuthorize, op.handleAuthorize)
	m.HandleFunc("POST "+PathToken, op.handleToken)
	m.HandleFunc("POST "+PathRevoke, op.handleRevoke)
	m.HandleFunc(PathUserinfo, op.handleUserinfo)
	m.HandleFunc(PathEndSession, op.handleEndSession)
	m.HandleFunc("GET "+PathCheckSession, op.handleCheckSession)
	m.HandleFunc("GET "+PathBrowserState, op.handleBrowserState)
	op.mux = m
}

func (c Client) validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("testop: Client.ID is required"))
	}
	uris := append(append(append(slices.Clone(c.RedirectURIs), c.PostLogoutRedirectURIs...), c.FrontChannelLogoutURIs...), c.BackChannelLogoutURI)
	for _, raw := range uris {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(raw, "#") {
			errs = append(errs, fmt.Errorf("testop: client %q: %q must be an absolute URI without fragment", c.ID, raw))
		}
	}
	switch c.alg() {
	case "RS256", "ES256":
	case "HS256":
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("testop: client %q: HS256 needs a Secret", c.ID))
		}
	default:
		errs = append(errs, fmt.Errorf("testop: client %q: unsupported IDTokenSigningAlg %q", c.ID, c.IDTokenSigningAlg))
	}
	return errors.Join(errs...)
}

// AddClient registers c, replacing any client with the same ID (apps learn
// their address only after they listen).
func (op *OP) AddClient(c Client) error {
	if err := c.validate(); err != nil {
		return err
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.FrontChannelLogoutURIs = slices.Clone(c.FrontChannelLogoutURIs)
	op.mu.Lock()
	defer op.mu.Unlock()
	op.clients[c.ID] = c
	return nil
}

func (op *OP) client(id string) (Client, bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	c, ok := op.clients[id]
	return c, ok
}

// defaultProfiles are the claims of the demo users.
func defaultProfiles() map[string]map[string]any {
	p := func(name, email string) map[string]any {
		return map[string]any{"name": name, "email": email, "email_verified": true}
	}
	return map[string]map[string]any{
		"alice": p("Alice Liddell", "alice@example.com"),
		"bob":   p("Bob Cratchit", "bob@example.com"),
		"carol": p("Carol Danvers", "carol@example.com"),
	}
}

// profile returns the profile claims of sub.
func (op *OP) profile(sub string) map[string]any { return op.cfg.Profiles[sub] }

// SetUser sets the subject that the next login (a browser without an OP
// session) authenticates as.
func (op *OP) SetUser(sub string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.user = sub
}

// SetNextSID forces the sid of the next OP session created; calls queue up.
// Use it to test sids with spaces, &, #, %, + or quotes.
func (op *OP) SetNextSID(sid string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.nextSID = append(op.nextSID, sid)
}

// newSession creates an OP session for sub. Callers hold op.mu.
func (op *OP) newSessionLocked(sub string) *opSession {
	var sid string
	if len(op.nextSID) > 0 {
		sid, op.nextSID = op.nextSID[0], op.nextSID[1:]
	} else {
		sid = op.cfg.SIDFunc()
	}
	s := &opSession{
		id:           rand.Text(),
		sub:          sub,
		sid:          sid,
		authTime:     op.cfg.Now(),
		browserState: rand.Text(),
		clients:      make(map[string]bool),
	}
	op.sessions[s.id] = s
	return s
}

// sessionFromRequest returns the live OP session of the browser, if any.
func (op *OP) sessionFromRequest(r *http.Request) *opSession {
	ck, err := r.Cookie(SessionCookieName)
	if err != nil {
		return nil
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.sessions[ck.Value]
}

func (op *OP) setCookie(w http.ResponseWriter, name, value string, httpOnly bool) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: httpOnly,
		SameSite: op.cfg.CookieSameSite, Secure: op.cfg.CookieSecure,
	}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// SessionSIDs returns the sids of the live OP sessions of sub (for tests).
func (op *OP) SessionSIDs(sub string) []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	var out []string
	for _, s := range op.sessions {
		if s.sub == sub {
			out = append(out, s.sid)
		}
	}
	return out
}

// logError logs an unexpected failure.
func (op *OP) logError(ctx context.Context, msg string, err error) {
	op.logger.ErrorContext(ctx, "testop: "+msg, "err", err)
}

// NewServer starts an OP on 127.0.0.1 for a test and closes it when the
// test ends. It fails the test if the OP cannot start.
func NewServer(tb testing.TB, cfg Config) *OP {
	tb.Helper()
	op, err := Start(cfg, "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { op.Close() })
	return op
}
