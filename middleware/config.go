package middleware

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oidc-slo/slo/internal/weborigin"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// Config configures an [Auth]. Only Client is required; every other field's
// zero value means the default its comment gives.
type Config struct {
	// Client is the OpenID Connect client for the OP. Required. Its
	// RedirectURL decides the callback path, and its PostLogoutRedirectURL
	// the path of the post-logout return.
	Client *rp.Client

	// Store keeps the sessions and the logout records. Default: a new
	// in-memory store, which serves a single process only.
	Store sessionstore.Store
	// SingleUse makes login and logout states and back-channel logout
	// tokens single-use, across replicas when it is shared (redisstore and
	// pgstore offer one). Default: an in-memory one for this process.
	SingleUse sessionstore.SingleUse

	// BaseURL is the application's external URL, under which every path
	// below lies, for example "https://example.com/app/" for an
	// application served under /app. It is configuration, never taken
	// from a request's headers. Default: the origin of the client's
	// RedirectURL, with the path "/". RedirectURL and
	// PostLogoutRedirectURL must lie under it.
	BaseURL string
	// PrefixStripped says that requests reach the handlers with the path
	// of BaseURL removed, as behind http.StripPrefix or a proxy that
	// strips it: Register then mounts the routes without it, and
	// RequireLogin puts it back into return_to. Default false: handlers
	// see the full path.
	PrefixStripped bool

	// CookieName is the session cookie's name. Default "slo". When Secure,
	// the name gets the "__Host-" prefix so the browser pins the cookie to
	// this exact origin (or "__Secure-" under a BaseURL path, since a
	// __Host- cookie must have the path "/"). The cookie's path is the
	// path of BaseURL.
	CookieName string
	// BrowserSessionCookie makes the session cookie a browser-session
	// cookie, without Expires or Max-Age: the browser drops it when it
	// closes. The session still ends on the server after AbsoluteLifetime
	// or IdleTimeout. Default false: the cookie lives as long as the
	// session may.
	BrowserSessionCookie bool
	// Secure marks cookies Secure. Default: true if the client's RedirectURL
	// is https.
	Secure *bool
	// Key seals the short-lived login and logout records kept in cookies
	// (state, nonce, PKCE verifier). Any length; at least 32 random bytes are
	// recommended. Default: a random key per process, which only works with
	// a single replica: replicas behind a load balancer must share a Key.
	Key []byte

	// The paths of the routes, relative to BaseURL ("/login" is served at
	// BaseURL's path + "/login"); each must start with "/". The callback
	// and the post-logout return take their paths from the client's
	// RedirectURL and PostLogoutRedirectURL.

	// LoginPath serves GET requests that start a login. Default "/login".
	LoginPath string
	// LogoutPath serves the POST that signs the user out. Default "/logout".
	LogoutPath string
	// MetadataPath serves the client registration metadata as JSON.
	// Default "/.well-known/oidc-client".
	MetadataPath string
	// BackChannelPath is the backchannel_logout_uri path.
	// Default "/backchannel-logout".
	BackChannelPath string
	// FrontChannelPath is the frontchannel_logout_uri path.
	// Default "/frontchannel-logout".
	FrontChannelPath string
	// SessionCheckPath serves the session-check iframe of Session
	// Management 1.0; its script is served at SessionCheckPath + ".js" and
	// its prompt=none re-check starts at SessionCheckPath + "/recheck".
	// Default "/session-check".
	SessionCheckPath string
	// LandingPath is where the user goes after login and logout when no
	// return_to was given. Default "/".
	LandingPath string

	// AbsoluteLifetime is the longest a session lives, however active.
	// Default 12 hours.
	AbsoluteLifetime time.Duration
	// IdleTimeout ends a session that saw no request for this long.
	// Default 0: no idle timeout.
	IdleTimeout time.Duration
	// LoginTimeout bounds the time between starting a login or logout at
	// the OP and coming back; a logout from the OP is remembered this long
	// for logins under way. Default 10 minutes.
	LoginTimeout time.Duration
	// SessionCheckInterval is how often the session-check page asks the
	// OP's check_session_iframe whether the user's OP session changed
	// (see SessionCheckHandler). Default 5 seconds; at least 100
	// milliseconds. Unused when the OP advertises no check_session_iframe.
	SessionCheckInterval time.Duration

	// Verifier configures how back-channel logout tokens are verified:
	// ClockSkew (default: the Client's), MaxAge, AllowMissingExp and Typ.
	// Leave Providers and Now empty: New sets them from Client and Now.
	Verifier logout.VerifierConfig
	// BackChannel configures the back-channel logout endpoint:
	// SingleUseFailOpen, MaxBodyBytes, StoreTimeout and Revoke. Leave
	// Verifier, Store, SingleUse, LoginTimeout, OnLogout and Logger empty:
	// New sets them from this Config.
	BackChannel logout.BackChannelConfig
	// FrontChannel configures the front-channel logout endpoint:
	// AllowCookieLogout, FrameAncestors (default: the issuer's origin),
	// KeepStorage and StoreTimeout. Leave Issuers, Store, CookieSession,
	// ClearCookie, LoginTimeout, Now, OnLogout and Logger empty: New sets
	// them from this Config.
	FrontChannel logout.FrontChannelConfig

	// LoginOptions returns extra authorization request parameters for a
	// login started by r, for example rp.LoginHint, rp.ACRValues or an
	// IdP hint with rp.Param. Optional.
	LoginOptions func(r *http.Request) []rp.AuthOption
	// LoginParams lets GET LoginPath pass these parameters of its query on
	// to the OP: prompt (login, select_account or consent), login_hint and
	// ui_locales. Default false: such a request is refused (400). max_age
	// and acr_values are always taken (see Require): they only make a
	// login stricter.
	LoginParams bool
	// ResponseMode "form_post" asks the OP to POST the authorization
	// response to the callback (response_mode=form_post), for OPs that
	// require it; the login cookie is then SameSite=None, which needs
	// Secure cookies. Default "": the response comes in the query.
	ResponseMode string

	// EndSessionPOST sends the RP-initiated logout request to the OP as an
	// auto-submitted POST form (RP-Initiated Logout 1.0 §2) instead of a
	// redirect, so that the ID token in id_token_hint stays out of URLs,
	// browser history and the OP's access logs. Default false: a redirect,
	// unless the URL would be longer than 2000 bytes.
	EndSessionPOST bool
	// KeepRefreshTokens leaves a session's refresh token valid at the OP
	// when the session ends. By default, when the OP advertises a
	// revocation_endpoint, sign-out and back-channel logout revoke it
	// (RFC 7009), in the background: best effort, logged, never delaying
	// the logout.
	KeepRefreshTokens bool

	// Userinfo makes each login also fetch the user's claims from the OP's
	// UserInfo endpoint (rp.Client.Userinfo: its sub must be the ID
	// token's), once, and keep them with the session beside the ID
	// token's: for a claim in both, the UserInfo value is kept, except for
	// the claims about the token and the authentication (iss, sub, aud,
	// exp, iat, nbf, jti, nonce, azp, sid, auth_time, acr, amr, at_hash,
	// c_hash, s_hash), which always come from the ID token. A login whose
	// UserInfo request fails is refused (502). The OP must advertise a
	// userinfo_endpoint (New checks it when discovery is done).
	Userinfo bool
	// Claims lists the claims of the ID token (and of UserInfo, with
	// Userinfo) kept with the session (sessionstore.Data.Claims, read with
	// Session.Claims and Session.Profile); sub, auth_time, acr and amr are
	// always kept. Default: every claim.
	Claims []string
	// MaxClaimsBytes bounds the kept claims; larger ones are cut down to
	// the standard profile claims, with a warning. Default
	// DefaultMaxClaimsBytes.
	MaxClaimsBytes int
	// OnLogin is called after the OP's answer was verified and before the
	// session is created, with the session to be created (its claims
	// included) and the verified result. It may add to s.Data (Values,
	// for the application's own data) but not change s's Issuer, Subject
	// or SID. Returning an error refuses the login: nothing is stored, the
	// error is logged, and the error page (403 for an error matching
	// ErrForbidden, 500 otherwise) shows none of its details.
	OnLogin func(r *http.Request, s *sessionstore.Session, res *rp.Result) error

	// Navigation reports whether a request is a top-level navigation of
	// the browser, which RequireLogin sends to login when it has no
	// session, rather than a call of a script or an API client, which gets
	// 401 with a small JSON body instead. Default IsNavigation.
	Navigation func(r *http.Request) bool

	// OnLogout receives an event for every logout, on every channel.
	OnLogout logout.Hook
	// Logger receives the logs. Default slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes error responses. Default: a small HTML page that
	// says in plain words what went wrong and what to do (for a refused
	// login, the OP's error and error_description), with the status of
	// StatusCode(err) and no internal detail; requests that are not
	// navigations get a JSON body.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Auth is the net/http glue of slo: login and callback routes, the session
// cookie, LoadSession and RequireLogin, sign-out, the post-logout return,
// the logout endpoints, the session check and the registration metadata.
// Create it with New; it is safe for concurrent use.
type Auth struct {
	client       *rp.Client
	store        sessionstore.Store
	used         sessionstore.SingleUse // login and logout states
	sealer       *sealer
	logger       *slog.Logger
	onLogout     logout.Hook
	errorHandler func(http.ResponseWriter, *http.Request, error)
	now          func() time.Time

	cookieName    string
	cookiePath    string
	browserCookie bool // Config.BrowserSessionCookie
	secure        bool
	origin        string // origin of BaseURL, as browsers serialise it
	prefix        string // path of BaseURL without its trailing slash: "" or "/app"
	stripped      bool   // Config.PrefixStripped
	paths         paths  // external paths, prefix included
	navigation    func(*http.Request) bool
	absolute      time.Duration
	idle          time.Duration
	loginTTL      time.Duration
	csrf          *http.CrossOriginProtection
	refreshing    refreshGroup

	checkInterval time.Duration              // Config.SessionCheckInterval
	checkFrame    atomic.Pointer[checkFrame] // the OP's check_session_iframe, once discovered

	backChannel  *logout.BackChannelHandler
	frontChannel *logout.FrontChannelHandler
	cookieLogout bool // Config.FrontChannel.AllowCookieLogout

	loginOptions func(*http.Request) []rp.AuthOption
	loginQuery   bool // Config.LoginParams
	formPost     bool // Config.ResponseMode == "form_post"
	claims       []string
	userinfo     bool // Config.Userinfo
	maxClaims    int

	endSessionPOST bool // Config.EndSessionPOST
	revoker        revoker
	onLogin        func(*http.Request, *sessionstore.Session, *rp.Result) error
}

// paths are the routes' paths as the browser sees them, the BaseURL
// prefix included.
type paths struct {
	login, callback, logout, loggedOut, metadata, backChannel, frontChannel, landing string
	sessionCheck, sessionCheckScript, recheck                                        string
}

// route returns the path the mux sees for the external path p.
func (a *Auth) route(p string) string {
	if a.stripped {
		return cmp.Or(strings.TrimPrefix(p, a.prefix), "/")
	}
	return p
}

// New validates cfg, reporting every problem at once, and returns an Auth.
func New(cfg Config) (*Auth, error) {
	var errs []error
	if cfg.Client == nil {
		return nil, errors.New("middleware: Config.Client is required")
	}
	rc := cfg.Client.Config()
	redirect, err := url.Parse(rc.RedirectURL)
	if err != nil || weborigin.Of(rc.RedirectURL) == "" {
		errs = append(errs, fmt.Errorf("middleware: client RedirectURL %q is not an absolute URL", rc.RedirectURL))
		redirect = &url.URL{Path: "/callback"}
	}
	base := cfg.BaseURL
	if base == "" {
		base = weborigin.Of(rc.RedirectURL) + "/"
	}
	baseURL, err := url.Parse(base)
	if err != nil || weborigin.Of(base) == "" || baseURL.RawQuery != "" || baseURL.Fragment != "" {
		errs = append(errs, fmt.Errorf("middleware: BaseURL %q is not an absolute http(s) URL without query", cfg.BaseURL))
		baseURL = &url.URL{Path: "/"}
	}
	a := &Auth{
		client:       cfg.Client,
		store:        cfg.Store,
		used:         cfg.SingleUse,
		logger:       cfg.Logger,
		onLogout:     cfg.OnLogout,
		errorHandler: cfg.ErrorHandler,
		now:          cfg.Now,
		absolute:     cfg.AbsoluteLifetime,
		idle:         cfg.IdleTimeout,
		loginTTL:     cfg.LoginTimeout,
		origin:       weborigin.Of(base),
		prefix:       strings.TrimSuffix(baseURL.Path, "/"),
		stripped:     cfg.PrefixStripped,
		navigation:   cfg.Navigation,

		browserCookie: cfg.BrowserSessionCookie,
		loginOptions:  cfg.LoginOptions,
		loginQuery:    cfg.LoginParams,
		formPost:      cfg.ResponseMode == "form_post",
		claims:        slices.Clone(cfg.Claims),
		userinfo:      cfg.Userinfo,
		maxClaims:     cmp.Or(cfg.MaxClaimsBytes, DefaultMaxClaimsBytes),
		onLogin:       cfg.OnLogin,

		endSessionPOST: cfg.EndSessionPOST,
		revoker:        revoker{off: cfg.KeepRefreshTokens, busy: make(chan struct{}, maxRevocations)},
	}
	switch cfg.ResponseMode {
	case "", "query", "form_post":
	default:
		errs = append(errs, fmt.Errorf("middleware: ResponseMode %q is not query or form_post", cfg.ResponseMode))
	}
	if a.userinfo && cfg.Client.Discovered() && cfg.Client.Metadata().UserinfoEndpoint == "" {
		errs = append(errs, errors.New("middleware: Config.Userinfo is set, but the OP advertises no userinfo_endpoint"))
	}
	if a.maxClaims < 0 {
		errs = append(errs, errors.New("middleware: MaxClaimsBytes must not be negative"))
	}
	if a.navigation == nil {
		a.navigation = IsNavigation
	}
	a.cookiePath = cmp.Or(a.prefix, "/")
	if a.now == nil {
		a.now = time.Now
	}
	if a.store == nil {
		a.store = memstore.New(memstore.Config{Now: a.now})
	}
	if a.used == nil {
		a.used = memstore.NewSingleUse(memstore.SingleUseConfig{Now: a.now})
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.errorHandler == nil {
		a.errorHandler = a.defaultErrorHandler
	}
	if a.absolute == 0 {
		a.absolute = 12 * time.Hour
	}
	if a.loginTTL == 0 {
		a.loginTTL = 10 * time.Minute
	}
	a.checkSessionFrame() // with the OP known, the check frame is made now
	a.checkInterval = cmp.Or(cfg.SessionCheckInterval, defaultCheckInterval)
	if a.checkInterval < minCheckInterval {
		errs = append(errs, fmt.Errorf("middleware: SessionCheckInterval must be at least %v", minCheckInterval))
	}
	if a.absolute < 0 || a.idle < 0 || a.loginTTL < 0 {
		errs = append(errs, errors.New("middleware: AbsoluteLifetime, IdleTimeout and LoginTimeout must not be negative"))
	}
	if cfg.Secure != nil {
		a.secure = *cfg.Secure
	} else {
		a.secure = baseURL.Scheme == "https"
	}
	a.cookieName = cmp.Or(cfg.CookieName, "slo")
	if strings.ContainsAny(a.cookieName, " \t\r\n;,=\"") {
		errs = append(errs, fmt.Errorf("middleware: CookieName %q is not a valid cookie name", a.cookieName))
	}
	switch {
	case !a.secure || strings.HasPrefix(a.cookieName, "__Host-") || strings.HasPrefix(a.cookieName, "__Secure-"):
	case a.cookiePath == "/":
		a.cookieName = "__Host-" + a.cookieName
	default:
		a.cookieName = "__Secure-" + a.cookieName
	}
	if a.formPost && !a.secure {
		errs = append(errs, errors.New("middleware: ResponseMode form_post needs Secure cookies (SameSite=None): serve over https, or set Config.Secure for http://localhost in development"))
	}
	if strings.HasPrefix(a.cookieName, "__Host-") && a.cookiePath != "/" {
		errs = append(errs, fmt.Errorf("middleware: CookieName %q: a __Host- cookie needs the path /, and BaseURL has the path %q", a.cookieName, a.prefix))
	}
	key := cfg.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
		a.logger.Info("slo: no Config.Key given; login and logout cookies are sealed with a key of this process only, so replicas behind a load balancer need a shared Key")
	}
	if a.sealer, err = newSealer(key); err != nil {
		errs = append(errs, fmt.Errorf("middleware: %w", err))
	}
	if cfg.Store == nil {
		a.logger.Info("slo: no Config.Store given; sessions live in this process only, so a logout that reaches another replica does not end them")
	}

	for _, p := range []string{cfg.LoginPath, cfg.LogoutPath, cfg.MetadataPath, cfg.BackChannelPath, cfg.FrontChannelPath, cfg.LandingPath, cfg.SessionCheckPath} {
		if p != "" && !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("middleware: path %q must start with /", p))
		}
	}
	ext := func(p, def string) string { return a.prefix + cmp.Or(p, def) }
	check := ext(cfg.SessionCheckPath, "/session-check")
	a.paths = paths{
		login:              ext(cfg.LoginPath, "/login"),
		callback:           cmp.Or(redirect.Path, "/"),
		logout:             ext(cfg.LogoutPath, "/logout"),
		metadata:           ext(cfg.MetadataPath, "/.well-known/oidc-client"),
		backChannel:        ext(cfg.BackChannelPath, "/backchannel-logout"),
		frontChannel:       ext(cfg.FrontChannelPath, "/frontchannel-logout"),
		landing:            ext(cfg.LandingPath, "/"),
		sessionCheck:       check,
		sessionCheckScript: check + ".js",
		recheck:            check + "/recheck",
	}
	if weborigin.Of(rc.RedirectURL) != a.origin || !a.under(a.paths.callback) {
		errs = append(errs, fmt.Errorf("middleware: client RedirectURL %q must lie under BaseURL %q", rc.RedirectURL, base))
	}
	if rc.PostLogoutRedirectURL != "" {
		u, err := url.Parse(rc.PostLogoutRedirectURL)
		if err != nil || weborigin.Of(rc.PostLogoutRedirectURL) != a.origin || !a.under(cmp.Or(u.Path, "/")) {
			errs = append(errs, fmt.Errorf("middleware: client PostLogoutRedirectURL %q must lie under BaseURL %q", rc.PostLogoutRedirectURL, base))
		} else {
			a.paths.loggedOut = cmp.Or(u.Path, "/")
		}
	}
	if _, err := ValidReturnTo(a.paths.landing); err != nil {
		errs = append(errs, fmt.Errorf("middleware: LandingPath: %w", err))
	}
	errs = append(errs, ownedFields(cfg)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a.cookieLogout = cfg.FrontChannel.AllowCookieLogout
	if err := a.newLogoutHandlers(cfg); err != nil {
		return nil, err
	}
	a.csrf = http.NewCrossOriginProtection()
	return a, nil
}

// under reports whether the external path p lies under BaseURL.
func (a *Auth) under(p string) bool {
	return a.prefix == "" || p == a.prefix || strings.HasPrefix(p, a.prefix+"/")
}

// ownedFields reports the fields of the nested logout configurations that
// New sets itself: each is spelled once, on Config.
func ownedFields(cfg Config) []error {
	var errs []error
	owned := func(set bool, field, from string) {
		if set {
			errs = append(errs, fmt.Errorf("middleware: Config.%s is set by New from %s; leave it empty", field, from))
		}
	}
	v, bc, fc := cfg.Verifier, cfg.BackChannel, cfg.FrontChannel
	owned(v.Providers != nil, "Verifier.Providers", "Config.Client")
	owned(v.Now != nil, "Verifier.Now", "Config.Now")
	owned(bc.Verifier != nil, "BackChannel.Verifier", "Config.Verifier")
	owned(bc.Store != nil, "BackChannel.Store", "Config.Store")
	owned(bc.SingleUse != nil, "BackChannel.SingleUse", "Config.SingleUse")
	owned(bc.LoginTimeout != 0, "BackChannel.LoginTimeout", "Config.LoginTimeout")
	owned(bc.OnLogout != nil, "BackChannel.OnLogout", "Config.OnLogout")
	owned(bc.Logger != nil, "BackChannel.Logger", "Config.Logger")
	owned(fc.Issuers != nil, "FrontChannel.Issuers", "Config.Client")
	owned(fc.Store != nil, "FrontChannel.Store", "Config.Store")
	owned(fc.CookieSession != nil, "FrontChannel.CookieSession", "the session cookie")
	owned(fc.ClearCookie != nil, "FrontChannel.ClearCookie", "the session cookie")
	owned(fc.LoginTimeout != 0, "FrontChannel.LoginTimeout", "Config.LoginTimeout")
	owned(fc.Now != nil, "FrontChannel.Now", "Config.Now")
	owned(fc.OnLogout != nil, "FrontChannel.OnLogout", "Config.OnLogout")
	owned(fc.Logger != nil, "FrontChannel.Logger", "Config.Logger")
	return errs
}
