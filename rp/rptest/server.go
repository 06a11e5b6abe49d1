package rptest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oidc-slo/slo/internal/testop"
)

// Options configure a [Server]. The zero value is an OP with every
// logout channel that signs in "alice".
type Options struct {
	// Host is the loopback host the OP listens on and names in its issuer:
	// "127.0.0.1", "localhost", another address in 127.0.0.0/8, or "::1".
	// The port is chosen by the system. An OP on "localhost" and an
	// application on "127.0.0.1" are different sites to a browser, as an
	// OP and an application usually are in production. Default "127.0.0.1".
	Host string
	// User is the subject that the OP signs in when a browser without an OP
	// session arrives (unless the login request names another in
	// login_hint). Default "alice". SetUser changes it.
	User string
	// Profiles are claims per subject (name, email, ...) that ID tokens and
	// userinfo responses carry besides the OP's own (iss, sub, aud, sid,
	// ...), which they never replace. Default: name, email and
	// email_verified for alice ("Alice Liddell", alice@example.com), bob
	// ("Bob Cratchit") and carol ("Carol Danvers"); an empty non-nil map
	// gives none. SetUser changes them.
	Profiles map[string]map[string]any
	// IDTokenTTL is the lifetime of ID tokens. Default 1h.
	IDTokenTTL time.Duration
	// AccessTokenTTL is the lifetime (expires_in) of access tokens.
	// Default 1h.
	AccessTokenTTL time.Duration
	// LogoutTokenTTL is exp minus iat of logout tokens. Default 2m.
	LogoutTokenTTL time.Duration
	// Now is the OP's clock: iat, exp and auth_time in the tokens it
	// issues, the expiry of codes and access tokens. Default time.Now.
	Now func() time.Time
	// LegacyLogoutTokens makes logout tokens follow the Back-Channel Logout
	// text from before errata 1 (2023): no exp claim, typ "JWT". slo's
	// middleware accepts them only with Config.Verifier.AllowMissingExp.
	LegacyLogoutTokens bool
	// NoCheckSession makes an OP without Session Management: no
	// check_session_iframe in discovery, no session_state in
	// authorization responses.
	NoCheckSession bool
	// NoEndSession makes an OP without RP-Initiated Logout: no
	// end_session_endpoint in discovery.
	NoEndSession bool
	// HTTPClient makes the back-channel POSTs. Default: a client with a
	// 5 s timeout. An application served by httptest.NewTLSServer needs
	// that server's Client().
	HTTPClient *http.Client
	// Logger receives the OP's diagnostics, such as back-channel
	// deliveries that failed. Default slog.Default().
	Logger *slog.Logger
}

// validate reports every problem of o at once.
func (o *Options) validate() error {
	var errs []error
	if o.Host != "" && o.Host != "localhost" {
		if ip := net.ParseIP(o.Host); ip == nil || !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("rptest: Options.Host %q is not a loopback host", o.Host))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"IDTokenTTL", o.IDTokenTTL}, {"AccessTokenTTL", o.AccessTokenTTL}, {"LogoutTokenTTL", o.LogoutTokenTTL}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("rptest: Options.%s %v is negative", d.name, d.v))
		}
	}
	for sub := range o.Profiles {
		if sub == "" {
			errs = append(errs, errors.New("rptest: Options.Profiles has an empty subject"))
		}
	}
	return errors.Join(errs...)
}

// Server is an OpenID Provider listening on a loopback port, for tests.
// Its methods are safe for concurrent use.
type Server struct {
	op         *testop.OP
	httpClient *http.Client
	legacy     bool

	mu      sync.Mutex
	clients map[string]Client

	foreignOnce sync.Once
	foreign     jose.JSONWebKey
}

// NewServer starts an OP and returns it; call Close when done. Like
// httptest.NewServer it panics if it cannot listen, and also if opts are
// invalid.
func NewServer(opts Options) *Server {
	if err := opts.validate(); err != nil {
		panic(err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	op, err := testop.Start(testop.Config{
		User:               opts.User,
		Profiles:           opts.Profiles,
		AccessTokenTTL:     opts.AccessTokenTTL,
		IDTokenTTL:         opts.IDTokenTTL,
		LogoutTokenTTL:     opts.LogoutTokenTTL,
		Now:                opts.Now,
		LegacyLogoutTokens: opts.LegacyLogoutTokens,
		NoCheckSession:     opts.NoCheckSession,
		NoEndSession:       opts.NoEndSession,
		HTTPClient:         hc,
		Logger:             opts.Logger,
	}, net.JoinHostPort(host, "0"))
	if err != nil {
		panic(fmt.Errorf("rptest: start the OP: %w", err))
	}
	return &Server{op: op, httpClient: hc, legacy: opts.LegacyLogoutTokens, clients: make(map[string]Client)}
}

// Close shuts the OP down. It may be called more than once.
func (s *Server) Close() { s.op.Close() }

// Issuer returns the OP's issuer identifier, "http://host:port": what an
// application configures as its issuer (rp.Config.Issuer), and where
// discovery starts (Issuer() + "/.well-known/openid-configuration").
func (s *Server) Issuer() string { return s.op.Issuer() }

// SetUser makes sub the subject that the next login signs in (a browser
// that already has an OP session stays signed in as its user; use a new
// browser). If claims is not nil it replaces the claims known for sub
// (name, email, ...); nil keeps them, such as the default ones of alice,
// bob and carol. The Server keeps a shallow copy of claims. SetUser panics
// if sub is empty.
func (s *Server) SetUser(sub string, claims map[string]any) {
	if sub == "" {
		panic("rptest: SetUser with an empty subject")
	}
	if claims != nil {
		s.op.SetProfile(sub, claims)
	}
	s.op.SetUser(sub)
}

// SIDs returns the sids of the live OP sessions of the user sub, sorted:
// one per browser signed in. The sid is what the OP puts in ID tokens and
// logout tokens, and what the application indexes its sessions by.
func (s *Server) SIDs(sub string) []string {
	sids := s.op.SessionSIDs(sub)
	slices.Sort(sids)
	return sids
}
