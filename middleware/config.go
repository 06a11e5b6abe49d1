package middleware

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// Config configures a Middleware. Only Client is required.
type Config struct {
	// Client is the OpenID Connect client for the OP. Required. Its
	// RedirectURL decides the callback path, and its PostLogoutRedirectURL
	// the path of the post-logout return.
	Client *rp.Client

	// Store keeps the sessions. Default: a new in-memory store, which serves
	// a single process only.
	Store sessionstore.Store

	// CookieName is the session cookie's name. Default "slo". When Secure,
	// the name gets the "__Host-" prefix so the browser pins the cookie to
	// this exact origin.
	CookieName string

	// Secure marks cookies Secure. Default: true if the client's RedirectURL
	// is https.
	Secure *bool

	// Key seals the short-lived login and logout records kept in cookies
	// (state, nonce, PKCE verifier). Any length; at least 32 random bytes are
	// recommended. Default: a random key per process, which only works with
	// a single replica: replicas behind a load balancer must share a Key.
	Key []byte

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
	// the OP and coming back. Default 10 minutes.
	LoginTimeout time.Duration

	// ReplayCache remembers the ids of back-channel logout tokens and the
	// login and logout states, so that each is used once, across replicas
	// when the cache is shared (redisstore and pgstore offer one). Default:
	// two in-memory caches for one process, the one for states forgetting
	// its oldest entries when full so that a flood of logins cannot block
	// back-channel logout.
	ReplayCache logout.ReplayCache

	// OnLogout receives an event for every logout this middleware handles.
	OnLogout logout.Hook
	// Logger receives the middleware's logs. Default slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes error responses. Default: a plain-text page with
	// the status of the error (see StatusCode) and no internal detail.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// AllowLogoutTokensWithoutExp accepts back-channel logout tokens
	// without an exp claim, as OPs built to the pre-2023 text of
	// Back-Channel Logout send them (node oidc-provider 6.x does). Their age
	// is then bounded by the verifier's iat window. Default false: such
	// tokens are refused, as errata set 1 requires exp.
	AllowLogoutTokensWithoutExp bool
	// StrictLogoutTokenTyp requires back-channel logout tokens to be
	// explicitly typed "logout+jwt". Default false: no typ, "JWT" and
	// "logout+jwt" are accepted, and any other explicit typ is refused.
	StrictLogoutTokenTyp bool
	// FrontChannelCookieLogout lets the front-channel endpoint end the
	// session of the cookie a request came with when the request names no
	// iss and sid, for OPs that cannot send them; Registration then says
	// frontchannel_logout_session_required false. Browsers rarely send the
	// cookie into the OP's cross-site iframe, so this seldom works. Default
	// false: such requests are refused (400) and end nothing, and the
	// registration asks the OP for iss and sid.
	FrontChannelCookieLogout bool
	// FrontChannelFrameAncestors are the origins allowed to frame the
	// front-channel endpoint. Default: the issuer's origin, where OPs serve
	// their logout page; set it when the OP's logout page is elsewhere.
	FrontChannelFrameAncestors []string
	// LogoutTokenMaxAge bounds how old (by iat) a back-channel logout token
	// may be. Default 5 minutes (logout.VerifierConfig.MaxAge).
	LogoutTokenMaxAge time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// SessionCheckInterval is how often the session-check page asks the
	// OP's check_session_iframe whether the user's OP session changed
	// (Session Management 1.0; see SessionCheckHandler). Default 5 seconds;
	// at least 100 milliseconds. Unused when the OP advertises no
	// check_session_iframe.
	SessionCheckInterval time.Duration
}

// Middleware is the net/http glue of slo: login and callback routes, the
// session cookie, LoadSession and RequireLogin, sign-out, the post-logout
// return and the RP metadata endpoint. Create it with New; it is safe for
// concurrent use.
type Middleware struct {
	client       *rp.Client
	store        sessionstore.Store
	replay       logout.ReplayCache // logout token ids
	states       logout.ReplayCache // login and logout states
	sealer       *sealer
	logger       *slog.Logger
	onLogout     logout.Hook
	errorHandler func(http.ResponseWriter, *http.Request, error)
	now          func() time.Time

	cookieName string
	secure     bool
	origin     string // origin of the redirect URL, as browsers serialise it
	paths      paths
	absolute   time.Duration
	idle       time.Duration
	loginTTL   time.Duration
	csrf       *http.CrossOriginProtection
	refreshing refreshGroup

	checkInterval time.Duration // Config.SessionCheckInterval
	checkFrame    *checkFrame   // the OP's check_session_iframe; nil: no session check

	backChannel  *logout.BackChannelHandler
	frontChannel *logout.FrontChannelHandler
	cookieLogout bool // Config.FrontChannelCookieLogout
}

type paths struct {
	login, callback, logout, loggedOut, metadata, backChannel, frontChannel, landing string
}

// New validates cfg, reporting every problem at once, and returns a
// Middleware.
func New(cfg Config) (*Middleware, error) {
	var errs []error
	if cfg.Client == nil {
		return nil, errors.New("middleware: Config.Client is required")
	}
	rc := cfg.Client.Config()
	redirect, err := url.Parse(rc.RedirectURL)
	if err != nil || webOrigin(rc.RedirectURL) == "" {
		errs = append(errs, fmt.Errorf("middleware: client RedirectURL %q is not an absolute URL", rc.RedirectURL))
		redirect = &url.URL{Path: "/callback"}
	}
	m := &Middleware{
		client:       cfg.Client,
		store:        cfg.Store,
		replay:       cfg.ReplayCache,
		logger:       cfg.Logger,
		onLogout:     cfg.OnLogout,
		errorHandler: cfg.ErrorHandler,
		now:          cfg.Now,
		absolute:     cfg.AbsoluteLifetime,
		idle:         cfg.IdleTimeout,
		loginTTL:     cfg.LoginTimeout,
		origin:       webOrigin(rc.RedirectURL),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.store == nil {
		m.store = memstore.New(memstore.Config{Now: m.now})
	}
	m.states = m.replay
	if m.replay == nil {
		// Separate in-process caches: anyone can start logins and so add
		// states, which must never crowd out logout token ids.
		m.replay = logout.NewMemoryReplayCache(0, m.now)
		m.states = logout.NewEvictingMemoryReplayCache(0, m.now)
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if m.errorHandler == nil {
		m.errorHandler = defaultErrorHandler
	}
	if m.absolute == 0 {
		m.absolute = 12 * time.Hour
	}
	if m.loginTTL == 0 {
		m.loginTTL = 10 * time.Minute
	}
	m.checkFrame = newCheckFrame(cfg.Client.Metadata())
	m.checkInterval = cmp.Or(cfg.SessionCheckInterval, defaultCheckInterval)
	if m.checkInterval < minCheckInterval {
		errs = append(errs, fmt.Errorf("middleware: SessionCheckInterval must be at least %v", minCheckInterval))
	}
	if m.absolute < 0 || m.idle < 0 || m.loginTTL < 0 {
		errs = append(errs, errors.New("middleware: AbsoluteLifetime, IdleTimeout and LoginTimeout must not be negative"))
	}
	if cfg.Secure != nil {
		m.secure = *cfg.Secure
	} else {
		m.secure = redirect.Scheme == "https"
	}
	m.cookieName = cmp.Or(cfg.CookieName, "slo")
	if strings.ContainsAny(m.cookieName, " \t\r\n;,=\"") {
		errs = append(errs, fmt.Errorf("middleware: CookieName %q is not a valid cookie name", m.cookieName))
	}
	if m.secure && !strings.HasPrefix(m.cookieName, "__Host-") {
		m.cookieName = "__Host-" + m.cookieName
	}
	key := cfg.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
		m.logger.Info("slo: no Config.Key given; login and logout cookies are sealed with a key of this process only, so replicas behind a load balancer need a shared Key")
	}
	if m.sealer, err = newSealer(key); err != nil {
		errs = append(errs, fmt.Errorf("middleware: %w", err))
	}

	m.paths = paths{
		login:        cmp.Or(cfg.LoginPath, "/login"),
		callback:     cmp.Or(redirect.Path, "/"),
		logout:       cmp.Or(cfg.LogoutPath, "/logout"),
		metadata:     cmp.Or(cfg.MetadataPath, "/.well-known/oidc-client"),
		backChannel:  cmp.Or(cfg.BackChannelPath, "/backchannel-logout"),
		frontChannel: cmp.Or(cfg.FrontChannelPath, "/frontchannel-logout"),
		landing:      cmp.Or(cfg.LandingPath, "/"),
	}
	if rc.PostLogoutRedirectURL != "" {
		u, err := url.Parse(rc.PostLogoutRedirectURL)
		if err != nil || webOrigin(rc.PostLogoutRedirectURL) != m.origin {
			errs = append(errs, fmt.Errorf("middleware: client PostLogoutRedirectURL %q must be on the origin of RedirectURL %q", rc.PostLogoutRedirectURL, m.origin))
		} else {
			m.paths.loggedOut = cmp.Or(u.Path, "/")
		}
	}
	for _, p := range []string{m.paths.login, m.paths.logout, m.paths.metadata, m.paths.backChannel, m.paths.frontChannel, m.paths.landing} {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("middleware: path %q must start with /", p))
		}
	}
	if _, err := ValidReturnTo(m.paths.landing); err != nil {
		errs = append(errs, fmt.Errorf("middleware: LandingPath: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.cookieLogout = cfg.FrontChannelCookieLogout
	if err := m.newLogoutHandlers(cfg); err != nil {
		return nil, err
	}
	m.csrf = http.NewCrossOriginProtection()
	return m, nil
}

// refreshGroup lets one request per session refresh tokens at a time; the
// others wait for its result, so a rotating refresh token is used once.
type refreshGroup struct {
	mu    sync.Mutex
	calls map[string]*refreshCall
}

type refreshCall struct {
	done chan struct{}
	sess *sessionstore.Session
	err  error
}
