package rp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// AuthMethod is how the client authenticates at the token and revocation
// endpoints (OpenID Connect Core 1.0 §9).
type AuthMethod string

// Client authentication methods.
const (
	// AuthMethodBasic sends the client id and secret with HTTP Basic
	// authentication (client_secret_basic).
	AuthMethodBasic AuthMethod = "client_secret_basic"
	// AuthMethodPost sends the client id and secret in the form body
	// (client_secret_post).
	AuthMethodPost AuthMethod = "client_secret_post"
	// AuthMethodNone sends only the client id: a public client, protected
	// by PKCE.
	AuthMethodNone AuthMethod = "none"
)

// Defaults used by New for zero Config fields.
const (
	// DefaultClockSkew is the leeway allowed for exp and iat.
	DefaultClockSkew = 60 * time.Second
	// DefaultHTTPTimeout is the timeout of the default HTTP client.
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultJWKSMaxAge is the longest the OP's JWKS is trusted after it
	// was fetched (Config.JWKSMaxAge).
	DefaultJWKSMaxAge = 24 * time.Hour
)

// Config configures a Client. New validates it, applies the documented
// defaults and keeps a copy, so changing a Config after New has no effect.
//
// URLs must be absolute. Issuer, RedirectURL, PostLogoutRedirectURL,
// EndSessionURL and every endpoint discovery names that the RP calls or
// sends the browser to (authorization, token, jwks_uri, userinfo,
// revocation, end-session, check_session_iframe) must use https, except on
// a loopback host (localhost, 127.0.0.0/8, ::1), which may use http for
// development and tests, or with InsecureAllowHTTP.
type Config struct {
	// Issuer is the OP's issuer identifier, exactly as the OP spells it in
	// its discovery document and tokens. Required. Discovery reads
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID is the client identifier registered at the OP. Required.
	ClientID string
	// ClientSecret is the client secret for confidential clients. Empty
	// for public clients. It is also the HMAC key when SigningAlgs lists
	// HS256, HS384 or HS512 (Core §10.1).
	ClientSecret string
	// AuthMethod is how the client authenticates at the token and
	// revocation endpoints. Default: AuthMethodBasic if ClientSecret is set,
	// otherwise AuthMethodNone.
	AuthMethod AuthMethod
	// RedirectURL is the registered redirect_uri, where the OP sends the
	// authorization response. Required.
	RedirectURL string
	// PostLogoutRedirectURL is the registered post_logout_redirect_uri.
	// Optional; it is the only value EndSessionURL ever sends.
	PostLogoutRedirectURL string
	// Scopes requested at login. Default ["openid"]; "openid" is always
	// added if missing.
	Scopes []string
	// SigningAlgs are the JWS algorithms accepted for ID tokens (and by
	// Keys for any JWT verified with it). Default ["RS256"]. "none" is
	// never accepted; HS* algorithms require ClientSecret.
	SigningAlgs []string
	// DecryptionKeys are private keys for ID tokens encrypted to the client
	// (JWE). When set, unencrypted ID tokens are refused. Default: none,
	// ID tokens must be signed JWTs.
	DecryptionKeys []jose.JSONWebKey
	// EndSessionURL supplies or overrides the OP's end_session_endpoint.
	// Default: the discovered value.
	EndSessionURL string
	// ClockSkew is the leeway for exp and iat checks. Default
	// DefaultClockSkew (60 s). Negative values are an error.
	ClockSkew time.Duration
	// JWKSMaxAge is the longest the keys of one JWKS response are trusted.
	// A Cache-Control max-age in the response (less its Age) shortens it,
	// no-cache and no-store make it the 1 minute floor; see KeySet for what
	// happens when the refetch fails. Default DefaultJWKSMaxAge (24 h);
	// values under 1 minute are an error.
	JWKSMaxAge time.Duration
	// HTTPClient is used for every request to the OP (discovery, JWKS,
	// token, revocation). Default: a client with a DefaultHTTPTimeout
	// (10 s) timeout.
	HTTPClient *http.Client
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives diagnostics. Default slog.Default(). Tokens are never
	// logged.
	Logger *slog.Logger
	// DeferDiscovery lets New return a Client although discovery failed
	// (the OP is down or unreachable at start), instead of an error.
	// New still validates the Config and tries discovery once. Afterwards
	// each call that needs the OP's metadata (Ready, Callback, Refresh,
	// Revoke, and verifications with Keys) tries again, on demand and with
	// backoff: after n failures in a row none before min(2ⁿ⁻¹ s, 1 min);
	// concurrent calls share one attempt, and no goroutine works in the
	// background. Until an attempt succeeds those calls, and Login,
	// EndSessionURL and WriteEndSessionForm (which do no I/O and need a
	// previous Ready), return an *UnavailableError matching
	// ErrOPUnavailable; Metadata returns the zero Metadata and Discovered
	// false. A discovery document that is wrong (another issuer, a missing
	// or plain-http endpoint) is retried the same way, since the OP's
	// configuration can be fixed without restarting the app; each failed
	// attempt is logged at Error. Default false: New fails if discovery
	// fails.
	DeferDiscovery bool
	// InsecureAllowHTTP accepts plain http for every URL that must
	// otherwise use https (Issuer, RedirectURL, PostLogoutRedirectURL,
	// EndSessionURL and every discovered endpoint), on any host. It is for
	// development only, such as an OP reached as http://keycloak:8080 in a
	// docker-compose network: over plain http a network attacker can read
	// codes and tokens and supply signing keys. New logs at Error that it is
	// on. Default false: http only on loopback hosts.
	InsecureAllowHTTP bool
}

// Metadata is what discovery (OpenID Connect Discovery 1.0 and the logout
// specifications' additions) said about the OP.
type Metadata struct {
	// Issuer is the issuer identifier; New checks it equals Config.Issuer.
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint is where Login sends the browser.
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	// TokenEndpoint is where codes and refresh tokens are exchanged.
	TokenEndpoint string `json:"token_endpoint"`
	// JWKSURL is the OP's signing key set (jwks_uri).
	JWKSURL string `json:"jwks_uri"`
	// EndSessionEndpoint is the RP-initiated logout endpoint, or
	// Config.EndSessionURL when that is set; empty if there is none.
	EndSessionEndpoint string `json:"end_session_endpoint"`
	// CheckSessionIframe is the Session Management 1.0 OP iframe URL.
	CheckSessionIframe string `json:"check_session_iframe"`
	// RevocationEndpoint is the RFC 7009 endpoint used by Revoke.
	RevocationEndpoint string `json:"revocation_endpoint"`
	// UserinfoEndpoint is the UserInfo endpoint (OpenID Connect Core 1.0
	// §5.3); empty if the OP advertises none.
	UserinfoEndpoint string `json:"userinfo_endpoint"`
	// FrontChannelLogoutSupported: the OP supports Front-Channel Logout.
	FrontChannelLogoutSupported bool `json:"frontchannel_logout_supported"`
	// FrontChannelLogoutSessionSupported: front-channel requests carry iss
	// and sid.
	FrontChannelLogoutSessionSupported bool `json:"frontchannel_logout_session_supported"`
	// BackChannelLogoutSupported: the OP supports Back-Channel Logout.
	BackChannelLogoutSupported bool `json:"backchannel_logout_supported"`
	// BackChannelLogoutSessionSupported: logout tokens carry sid.
	BackChannelLogoutSessionSupported bool `json:"backchannel_logout_session_supported"`
	// AuthorizationResponseIssParameterSupported: authorization responses
	// carry iss (RFC 9207), so Callback requires it.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	// IDTokenSigningAlgValuesSupported lists the OP's ID token algorithms.
	// Informational: only Config.SigningAlgs are accepted.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

func (m Metadata) clone() Metadata {
	m.IDTokenSigningAlgValuesSupported = slices.Clone(m.IDTokenSigningAlgValuesSupported)
	return m
}

// Client is an OpenID Connect relying party for one OP. It is safe for
// concurrent use. Create it with New.
type Client struct {
	cfg      Config
	keys     *KeySet
	verifier *oidc.IDTokenVerifier
	log      *slog.Logger

	// op is what discovery found; nil until it succeeds (DeferDiscovery),
	// then set once. provider returns it, retrying discovery if needed.
	op        atomic.Pointer[provider]
	discovery discovery
}

// New validates cfg, runs OpenID Connect discovery for cfg.Issuer through
// cfg.HTTPClient and returns a Client. All configuration problems are
// reported at once, before any network access.
//
// If discovery fails, New returns the error, unless cfg.DeferDiscovery is
// set: then it logs the error and returns a Client that retries discovery
// when a call needs the OP (see Config.DeferDiscovery). New starts no
// goroutine.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = withDefaults(cfg)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.InsecureAllowHTTP {
		cfg.Logger.ErrorContext(ctx, "rp: plain http allowed for development (Config.InsecureAllowHTTP); never use this in production", "issuer", cfg.Issuer)
	}
	p, err := discover(ctx, cfg)
	if err != nil && !cfg.DeferDiscovery {
		return nil, err
	}

	c := &Client{cfg: cfg, log: cfg.Logger}
	c.keys = newKeySet(c.jwksURL, cfg)
	c.verifier = oidc.NewVerifier(cfg.Issuer, c.keys, &oidc.Config{
		ClientID:             cfg.ClientID,
		SupportedSigningAlgs: cfg.SigningAlgs,
		// go-oidc checks exp without leeway: shift its clock back by
		// ClockSkew so that exp gets exactly that leeway.
		Now: func() time.Time { return cfg.Now().Add(-cfg.ClockSkew) },
	})
	if err != nil {
		c.failed(ctx, err)
		return c, nil
	}
	c.op.Store(p)
	return c, nil
}

// validate checks the discovered endpoints: the required ones must be
// present, and every endpoint the RP calls or sends the browser to must be
// an absolute https URL without fragment (http only on a loopback host or
// with Config.InsecureAllowHTTP),
// OpenID Connect Core 1.0 §16.17. All problems are reported at once.
func (m *Metadata) validate(allowHTTP bool) error {
	var errs []error
	for _, e := range [...]struct {
		name, value string
		required    bool
	}{
		{"authorization_endpoint", m.AuthorizationEndpoint, true},
		{"token_endpoint", m.TokenEndpoint, true},
		{"jwks_uri", m.JWKSURL, true},
		{"userinfo_endpoint", m.UserinfoEndpoint, false},
		{"revocation_endpoint", m.RevocationEndpoint, false},
		{"end_session_endpoint", m.EndSessionEndpoint, false},
		{"check_session_iframe", m.CheckSessionIframe, false},
	} {
		switch {
		case e.value != "":
			errs = append(errs, checkURL("discovery: "+e.name, e.value, allowHTTP))
			if e.name == "end_session_endpoint" {
				errs = append(errs, checkEndSessionQuery("discovery: "+e.name, e.value))
			}
		case e.required:
			errs = append(errs, fmt.Errorf("rp: discovery: %s missing", e.name))
		}
	}
	return errors.Join(errs...)
}

func withDefaults(cfg Config) Config {
	cfg.Scopes = slices.Clone(cfg.Scopes)
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	cfg.SigningAlgs = slices.Clone(cfg.SigningAlgs)
	if len(cfg.SigningAlgs) == 0 {
		cfg.SigningAlgs = []string{"RS256"}
	}
	cfg.DecryptionKeys = slices.Clone(cfg.DecryptionKeys)
	if cfg.AuthMethod == "" {
		cfg.AuthMethod = AuthMethodNone
		if cfg.ClientSecret != "" {
			cfg.AuthMethod = AuthMethodBasic
		}
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (cfg *Config) validate() error {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("rp: Issuer is required"))
	} else if err := checkURL("Issuer", cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
		errs = append(errs, err)
	} else if u, _ := url.Parse(cfg.Issuer); u.RawQuery != "" || u.ForceQuery {
		errs = append(errs, errors.New("rp: Issuer must not have a query"))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("rp: ClientID is required"))
	}
	if cfg.RedirectURL == "" {
		errs = append(errs, errors.New("rp: RedirectURL is required"))
	} else {
		errs = append(errs, checkURL("RedirectURL", cfg.RedirectURL, cfg.InsecureAllowHTTP))
	}
	if cfg.PostLogoutRedirectURL != "" {
		errs = append(errs, checkURL("PostLogoutRedirectURL", cfg.PostLogoutRedirectURL, cfg.InsecureAllowHTTP))
	}
	if cfg.EndSessionURL != "" {
		errs = append(errs, checkURL("EndSessionURL", cfg.EndSessionURL, cfg.InsecureAllowHTTP),
			checkEndSessionQuery("EndSessionURL", cfg.EndSessionURL))
	}
	switch cfg.AuthMethod {
	case AuthMethodBasic, AuthMethodPost:
		if cfg.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("rp: AuthMethod %s requires ClientSecret", cfg.AuthMethod))
		}
	case AuthMethodNone:
	default:
		errs = append(errs, fmt.Errorf("rp: unknown AuthMethod %q", cfg.AuthMethod))
	}
	for _, s := range cfg.Scopes {
		if !validScope(s) {
			errs = append(errs, fmt.Errorf("rp: invalid scope %q", s))
		}
	}
	for _, alg := range cfg.SigningAlgs {
		switch {
		case !knownSigningAlg(alg):
			errs = append(errs, fmt.Errorf("rp: unsupported signing algorithm %q", alg))
		case isHMAC(alg) && cfg.ClientSecret == "":
			errs = append(errs, fmt.Errorf("rp: signing algorithm %s requires ClientSecret", alg))
		case isHMAC(alg) && len(cfg.ClientSecret) < hmacKeySize(alg):
			// RFC 7518 §3.2: the key must be at least as long as the hash.
			errs = append(errs, fmt.Errorf("rp: signing algorithm %s requires a ClientSecret of at least %d bytes", alg, hmacKeySize(alg)))
		}
	}
	for i, k := range cfg.DecryptionKeys {
		if k.Key == nil || k.IsPublic() || !k.Valid() {
			errs = append(errs, fmt.Errorf("rp: DecryptionKeys[%d] is not a private key", i))
		}
	}
	if cfg.ClockSkew < 0 {
		errs = append(errs, errors.New("rp: ClockSkew must not be negative"))
	}
	if cfg.JWKSMaxAge < minJWKSMaxAge {
		errs = append(errs, fmt.Errorf("rp: JWKSMaxAge must be at least %v", minJWKSMaxAge))
	}
	return errors.Join(errs...)
}

// checkURL checks that raw is an absolute URL without fragment that uses
// https, or http on a loopback host or when allowHTTP
// (Config.InsecureAllowHTTP).
func checkURL(name, raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("rp: %s: %w", name, err)
	}
	if !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("rp: %s %q is not an absolute URL", name, raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("rp: %s %q must not have a fragment", name, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP && !isLoopback(u.Hostname()) {
			return fmt.Errorf("rp: %s %q must use https (http is allowed only for loopback hosts, and with Config.InsecureAllowHTTP for development)", name, raw)
		}
	default:
		return fmt.Errorf("rp: %s %q must use https", name, raw)
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP address
// (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Issuer returns the OP's issuer identifier.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// ClientID returns the client identifier.
func (c *Client) ClientID() string { return c.cfg.ClientID }

// Config returns a copy of the configuration in use, with defaults applied.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.SigningAlgs = slices.Clone(cfg.SigningAlgs)
	cfg.DecryptionKeys = slices.Clone(cfg.DecryptionKeys)
	return cfg
}

// Metadata returns a copy of the OP metadata found by discovery. Its
// EndSessionEndpoint is Config.EndSessionURL when that is set. It does no
// I/O: before discovery has succeeded (Config.DeferDiscovery) it returns
// the zero Metadata; Discovered tells the two apart and Ready retries.
func (c *Client) Metadata() Metadata {
	if p := c.op.Load(); p != nil {
		return p.meta.clone()
	}
	return Metadata{}
}

// Keys returns the OP's signing key set, shared by every verification this
// Client does. Other packages (logout tokens) verify with it too. It can be
// taken before discovery has succeeded (Config.DeferDiscovery): until then
// its jwks_uri is unknown, and a verification that needs it retries
// discovery like any call that needs the OP, or fails with an
// *UnavailableError.
func (c *Client) Keys() *KeySet { return c.keys }

// EncryptionRequired reports whether ID tokens must be encrypted (JWE),
// which is so when Config.DecryptionKeys is set.
func (c *Client) EncryptionRequired() bool { return len(c.cfg.DecryptionKeys) > 0 }

func (c *Client) now() time.Time { return c.cfg.Now() }

// httpContext returns ctx carrying the client's HTTP client for x/oauth2
// and go-oidc.
func (c *Client) httpContext(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
	return oidc.ClientContext(ctx, c.cfg.HTTPClient)
}
