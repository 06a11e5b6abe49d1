package middleware

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/oidc-slo/slo/internal/weborigin"
	"github.com/oidc-slo/slo/rp"
)

// Session Management 1.0 support: the RP iframe page, the script the
// application's pages include, and the prompt=none re-check that runs when
// the OP reports a change.
//
// Frames, all on the RP's origin except the OP's:
//
//	application page (SessionCheckSnippet: iframe + SessionCheckPath.js)
//	└─ SessionCheckPath: the RP iframe; polls the OP iframe every interval
//	   ├─ check_session_iframe (OP origin)
//	   └─ SessionCheckPath/recheck (on "changed") → OP → callback, which
//	      answers "refreshed <session_state>", "signed-out", "error" or
//	      "confirm"; on "confirm" the application's page repeats the
//	      re-check at top level (SessionCheckPath/recheck?return_to=…)

// recheckGap is the least time between two prompt=none re-checks of one
// browser tab; after three re-checks in a row that find the same user
// although the OP said "changed", the page stops checking (Session
// Management 1.0 §5.1: an OP that cannot read its cookies in a third-party
// iframe reports "changed" every time).
const recheckGap = time.Minute

// defaultCheckInterval is the default Config.SessionCheckInterval.
const defaultCheckInterval = 5 * time.Second

// minCheckInterval is the least Config.SessionCheckInterval.
const minCheckInterval = 100 * time.Millisecond

//go:embed assets/check.js assets/recheck.js assets/app.js
var assets embed.FS

// script is an embedded script with its CSP source expression.
type script struct {
	text template.JS
	hash string // 'sha256-…'
}

func mustScript(name string) script {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return script{text: template.JS(b), hash: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}
}

var (
	checkScript   = mustScript("assets/check.js")
	recheckScript = mustScript("assets/recheck.js")
	appScript     = []byte(mustScript("assets/app.js").text)
)

var checkTmpl = template.Must(template.New("check").Parse(`<!doctype html>
<html lang="en" data-state="loading" data-rp-origin="{{.RPOrigin}}" data-op-frame="{{.OPFrame}}" data-op-origin="{{.OPOrigin}}" data-client-id="{{.ClientID}}" data-session-state="{{.SessionState}}" data-key="{{.Key}}" data-interval="{{.Interval}}" data-recheck-gap="{{.RecheckGap}}" data-recheck="{{.Recheck}}" data-signed-out="{{.SignedOut}}">
<head><meta charset="utf-8"><title>Session check</title></head>
<body><script>{{.Script}}</script></body></html>
`))

var recheckTmpl = template.Must(template.New("recheck").Parse(`<!doctype html>
<html lang="en" data-result="{{.Result}}" data-rp-origin="{{.RPOrigin}}">
<head><meta charset="utf-8"><title>Session re-check</title></head>
<body><script>{{.Script}}</script></body></html>
`))

// checkFrame is the OP's check_session_iframe, if the OP advertises one
// that the RP iframe can use.
type checkFrame struct {
	url    string // the check_session_iframe URL
	origin string // its origin, as a browser reports it in event.origin
	csp    string // the Content-Security-Policy of the RP iframe page
}

// newCheckFrame returns the OP's check_session_iframe, or nil when the OP
// advertises none (or one that is not an absolute http(s) URL with an
// ASCII host): then session checking is off. New calls it once.
func newCheckFrame(md rp.Metadata) *checkFrame {
	o := weborigin.Of(md.CheckSessionIframe)
	if o == "" {
		return nil
	}
	cf := &checkFrame{url: md.CheckSessionIframe, origin: o}
	frameSrc := "'self' " + o
	if authz := weborigin.Of(md.AuthorizationEndpoint); authz != "" && authz != o {
		frameSrc += " " + authz
	}
	cf.csp = "default-src 'none'; script-src " + checkScript.hash +
		"; frame-src " + frameSrc + "; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
	return cf
}

// noCheckFrame marks an OP found to advertise no usable
// check_session_iframe.
var noCheckFrame = &checkFrame{}

// checkSessionFrame returns the OP's check_session_iframe and whether
// session checking is on. Until the client has discovered the OP (see
// rp.Config.DeferDiscovery) it is off.
func (a *Auth) checkSessionFrame() (*checkFrame, bool) {
	cf := a.checkFrame.Load()
	if cf == nil && a.client.Discovered() {
		cf = newCheckFrame(a.client.Metadata())
		if cf == nil {
			cf = noCheckFrame
		}
		a.checkFrame.Store(cf)
	}
	return cf, cf != nil && cf != noCheckFrame
}

// SessionCheckSnippet returns the HTML an application puts in its pages
// (anywhere in <body>) to notice, through Session Management 1.0, that the
// user logged out at the OP: a hidden iframe of Config.SessionCheckPath
// followed by <script src="{SessionCheckPath}.js">. The page's Content-Security-Policy,
// if any, must allow 'self' in script-src and frame-src.
//
// It renders nothing when the OP advertises no check_session_iframe, or
// when ctx carries no session (see LoadSession and RequireLogin): the
// check is only for pages of a logged-in user, and on an anonymous page it
// would report "signed out" after every reload.
//
// When the check finds the user logged out, the script sets
// data-slo-session="signed-out" on <html> and dispatches a cancelable
// "slo:signed-out" event on window; unless a listener calls
// preventDefault, the page reloads, so that the application shows the
// signed-out state. When the check gives up (see SessionCheckHandler) it
// sets data-slo-session="unchecked" and dispatches "slo:stopped".
func (a *Auth) SessionCheckSnippet(ctx context.Context) template.HTML {
	if _, ok := SessionFromContext(ctx); !ok {
		return ""
	}
	if _, ok := a.checkSessionFrame(); !ok {
		return ""
	}
	return template.HTML(`<iframe id="slo-session-check" src="` + template.HTMLEscapeString(a.paths.sessionCheck) +
		`" data-recheck="` + template.HTMLEscapeString(a.paths.recheck) + `" title="Session check" hidden></iframe>` +
		`<script src="` + template.HTMLEscapeString(a.paths.sessionCheckScript) + `"></script>`)
}

// SessionCheckScriptHandler returns the handler for GET
// SessionCheckPath + ".js": the small static script of SessionCheckSnippet
// that relays the session check's findings to the application's page. It
// answers 404 when the OP advertises no check_session_iframe.
func (a *Auth) SessionCheckScriptHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.checkSessionFrame(); !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		w.Write(appScript) //nolint:errcheck // the client went away
	})
}

// SessionCheckHandler returns the handler for GET Config.SessionCheckPath, the RP
// iframe of Session Management 1.0. It answers 404 when the OP advertises
// no check_session_iframe.
//
// The page is self-contained (no external scripts) with a strict
// Content-Security-Policy: default-src 'none', the inline script allowed
// by its hash, frames only from the RP itself and the OP's check-session
// and authorization origins, frameable only by the RP's own pages, and
// Cache-Control: no-store. It needs the request's session: without one it
// tells its parent at once that the user is signed out. With one it loads
// the OP's check_session_iframe in a hidden iframe (with an id) and posts
// client_id + " " + session_state to that iframe's exact origin every
// Config.SessionCheckInterval. It only processes messages whose origin is
// the OP iframe's origin and whose source is that iframe, and whose data
// is exactly "changed", "unchanged" or "error". A session without a
// session_state, or with one containing a space, is not checked.
//
// On "changed" it stops polling and re-checks without leaving the page: a
// hidden iframe loads SessionCheckPath/recheck (RecheckHandler), which sends prompt=none and
// the session's ID token as id_token_hint to the OP; the callback in that
// iframe keeps the session and updates its session_state if the same user
// (issuer, subject and sid) is still logged in, and otherwise ends the
// session (emitting a logout event with ChannelSessionManagement). Then the
// page resumes polling or tells the application's page that the user is
// signed out. On "error" it never re-checks; it pauses polling and retries
// after a minute, doubling the pause each time up to 15 minutes.
//
// Re-checks are rate-limited per browser tab: at most one a minute, and
// after three in a row that found the same user (the OP said "changed" but
// nothing had changed, as when the browser blocks the OP iframe's
// third-party cookies) the check stops for this session and tells the
// application's page.
//
// For tests and applications the page publishes its state on its <html>
// element: data-state is one of loading, polling, unchanged, throttled,
// rechecking, error, recheck-failed, stopped, disabled or signed-out, and
// data-ignored counts the messages it ignored.
func (a *Auth) SessionCheckHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cf, ok := a.checkSessionFrame()
		if !ok {
			http.NotFound(w, r)
			return
		}
		s, err := a.session(w, r)
		if err != nil {
			a.logger.ErrorContext(r.Context(), "slo: session check: loading session failed", slog.Any("error", err))
			a.fail(w, r, err)
			return
		}
		data := struct {
			RPOrigin, OPFrame, OPOrigin, ClientID, SessionState, Key, Recheck string
			Interval, RecheckGap                                              int64
			SignedOut                                                         bool
			Script                                                            template.JS
		}{
			RPOrigin:   a.origin,
			OPFrame:    cf.url,
			OPOrigin:   cf.origin,
			ClientID:   a.client.ClientID(),
			Interval:   a.checkInterval.Milliseconds(),
			RecheckGap: recheckGap.Milliseconds(),
			Recheck:    a.paths.recheck,
			SignedOut:  s == nil,
			Script:     checkScript.text,
		}
		if s != nil {
			if validSessionState(s.Data.SessionState) {
				data.SessionState = s.Data.SessionState
			}
			sum := sha256.Sum256([]byte("slo session check\x00" + s.ID))
			data.Key = base64.RawURLEncoding.EncodeToString(sum[:12])
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", cf.csp)
		if r.Method == http.MethodHead {
			return
		}
		if err := checkTmpl.Execute(w, data); err != nil {
			a.logger.ErrorContext(r.Context(), "slo: writing the session check page failed", slog.Any("error", err))
		}
	})
}

// validSessionState reports whether v can be checked: not empty, no space
// (Session Management 1.0 §2), printable ASCII and of sane length.
func validSessionState(v string) bool {
	if v == "" || len(v) > 512 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// The answers of a re-check to the session-check page.
const (
	recheckRefreshed = "refreshed" // + " " + new session_state, if any
	recheckSignedOut = "signed-out"
	recheckError     = "error"
	// recheckConfirm: the OP refused prompt=none in a cross-site iframe,
	// where a browser that blocks third-party cookies hides the OP's
	// session from it. The application's page repeats the re-check at
	// top level.
	recheckConfirm = "confirm"
)
