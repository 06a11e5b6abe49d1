package middleware

import (
	"context"
	"errors"
	"net/http"

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

// ErrStore marks a failure of the session store. Requests that meet it fail
// closed: the user is treated as not logged in and the failure is reported
// with 503.
var ErrStore = errors.New("middleware: session store unavailable")

// StatusCode returns the HTTP status an error from this package is answered
// with: the Status of an *Error; 400 for a bad return-to, an invalid or used
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
	case errors.Is(err, ErrBadReturnTo), errors.Is(err, rp.ErrState), errors.Is(err, rp.ErrIssuer),
		errors.Is(err, rp.ErrInvalidIDToken), errors.As(err, &ae):
		return http.StatusBadRequest
	case errors.Is(err, ErrStore):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := StatusCode(err)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(code), code)
}

func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.errorHandler(w, r, err)
}
