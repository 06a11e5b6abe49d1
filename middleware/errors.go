package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/oidc-slo/slo/rp"
	"golang.org/x/oauth2"
)

// Error is an error with the HTTP status a handler answers it with.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrForbidden is the error to return from Config.OnLogin to refuse a user:
// the login ends with 403 and the error page says the user is not let in.
var ErrForbidden = errors.New("middleware: access denied")

// ErrStore marks a failure of the session store. Requests that meet it fail
// closed: the user is treated as not logged in and the failure is reported
// with 503.
var ErrStore = errors.New("middleware: session store unavailable")

// StatusCode returns the HTTP status an error from this package is answered
// with: the Status of an *Error; 403 for ErrForbidden and ErrStepUp; 400 for a bad return-to, an invalid or used
// login state, an error response from the OP, a code the token endpoint
// refused (invalid_grant) or an ID token that fails verification; 503 for
// a store failure; 502 for any other failure talking to the OP.
func StatusCode(err error) int {
	var e *Error
	var ae *rp.AuthError
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		// The code was refused: used, expired or not ours.
		return http.StatusBadRequest
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrStepUp):
		return http.StatusForbidden
	case errors.Is(err, ErrBadReturnTo), errors.Is(err, rp.ErrState), errors.Is(err, rp.ErrIssuer),
		errors.Is(err, rp.ErrInvalidIDToken), errors.As(err, &ae):
		return http.StatusBadRequest
	case errors.Is(err, ErrStore), errors.Is(err, rp.ErrOPUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

// maxShownLen bounds the OP's error_description on the error page and in
// logs: it is text from the OP, relayed by the browser.
const maxShownLen = 300

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// problem is what the error page says about an error.
type problem struct {
	Status            int
	Title, Message    string
	Causes            []string
	OPError, OPDetail string
	Retry             string // where "Try again" leads; empty: no link
}

// explain puts err into plain words for the error page.
func (a *Auth) explain(err error) problem {
	p := problem{Status: StatusCode(err), Title: "Something went wrong", Message: "The request could not be completed."}
	var se *stateError
	var ae *rp.AuthError
	var re *oauth2.RetrieveError
	var he *Error
	switch {
	case errors.As(err, &se) && se.cookieMissing:
		p.Title = "Sign-in could not be completed"
		p.Message = "This browser did not bring back the cookie that the sign-in started with. The most likely causes:"
		p.Causes = []string{
			"cookies are blocked for this site;",
			fmt.Sprintf("the sign-in took longer than %v;", a.loginTTL),
			"the sign-in started at another address than " + a.origin + " (for example localhost instead of 127.0.0.1): open the application there.",
		}
		p.Retry = a.paths.login
	case errors.As(err, &se):
		p.Title = "Sign-in could not be completed"
		p.Message = "This sign-in was already completed, or it expired."
		p.Retry = a.paths.login
	case errors.As(err, &ae):
		p.Title = "Sign-in was refused"
		p.Message = "The identity provider did not sign you in."
		if ae.Code == "access_denied" {
			p.Message = "The sign-in was cancelled or refused at the identity provider."
		}
		p.OPError, p.OPDetail = clip(ae.Code, 64), clip(ae.Description, maxShownLen)
		p.Retry = a.paths.login
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant",
		errors.Is(err, rp.ErrIssuer), errors.Is(err, rp.ErrInvalidIDToken):
		p.Title = "Sign-in could not be completed"
		p.Message = "The identity provider's answer could not be verified."
		p.Retry = a.paths.login
	case errors.Is(err, ErrBadReturnTo):
		p.Title = "Bad request"
		p.Message = "The return address is not a path of this site."
	case errors.Is(err, ErrStepUp):
		p.Title = "Sign-in not strong enough"
		p.Message = "This page needs a more recent or stronger sign-in than the identity provider performed."
		p.Retry = a.paths.login
	case errors.Is(err, ErrForbidden):
		p.Title = "Access denied"
		p.Message = "You are signed in at the identity provider, but this application does not let you in."
	case errors.Is(err, rp.ErrOPUnavailable):
		p.Title = "Sign-in is temporarily unavailable"
		p.Message = "The identity provider cannot be reached right now. Please try again in a moment."
		p.Retry = a.paths.login
	case errors.Is(err, ErrStore), p.Status == http.StatusServiceUnavailable:
		p.Title = "Temporarily unavailable"
		p.Message = "The service cannot be reached right now. Please try again in a moment."
	case errors.As(err, &he):
		p.Title = http.StatusText(he.Status)
		p.Message = "The request could not be completed."
	case p.Status == http.StatusBadGateway:
		p.Title = "Sign-in is unavailable"
		p.Message = "The identity provider could not be reached. Please try again in a moment."
		p.Retry = a.paths.login
	}
	return p
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{- if .Causes}}<ul>{{range .Causes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{- if .OPError}}<p>The identity provider said: <code>{{.OPError}}</code>{{if .OPDetail}} ({{.OPDetail}}){{end}}</p>{{end}}
{{- if .Retry}}<p><a href="{{.Retry}}">Try again</a></p>{{end}}
</body></html>
`))

// defaultErrorHandler writes the error page: a small HTML page that says
// in plain words what went wrong, with the status of StatusCode(err); to
// requests that are not navigations, a JSON body instead.
func (a *Auth) defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	p := a.explain(err)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		h.Set("Retry-After", "5")
	}
	if !a.navigation(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(p.Status)
		json.NewEncoder(w).Encode(map[string]string{"error": http.StatusText(p.Status), "error_description": p.Title}) //nolint:errcheck
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(p.Status)
	if r.Method == http.MethodHead {
		return
	}
	if err := errorTmpl.Execute(w, p); err != nil {
		a.logger.ErrorContext(r.Context(), "slo: writing the error page failed", slog.Any("error", err))
	}
}

// opUnavailable answers a request that needs the OP before discovery
// succeeded (rp.Config.DeferDiscovery): 503, with Retry-After.
func (a *Auth) opUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	var ue *rp.UnavailableError
	if errors.As(err, &ue) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ue.RetryAfter.Seconds()))))
	}
	a.logger.WarnContext(r.Context(), "slo: the OP is not available yet", slog.Any("error", err))
	a.fail(w, r, err)
}

func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.errorHandler(w, r, err)
}
