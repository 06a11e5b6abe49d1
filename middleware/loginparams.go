package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oidc-slo/slo/rp"
)

// What a login asks of the OP beyond the code flow: the application's
// parameters (Config.LoginOptions), parameters from /login's query when
// Config.LoginParams allows them, and the step-up of a route (Require):
// max_age and acr_values, which the callback then checks in the ID token.

// queryParams are the authorization parameters /login takes from its query
// when Config.LoginParams is set, with their checks.
var queryParams = map[string]func(string) bool{
	"prompt":     func(v string) bool { return v == "login" || v == "select_account" || v == "consent" },
	"login_hint": func(v string) bool { return v != "" && len(v) <= 256 && printable(v) },
	"ui_locales": validLocales,
	"max_age":    func(v string) bool { n, err := strconv.Atoi(v); return err == nil && n >= 0 && n <= 1<<30 },
	"acr_values": validACRValues,
}

// stepUpParams are the parameters /login always takes: they only make a
// login stricter, and RequireLogin's step-up sends them.
var stepUpParams = []string{"max_age", "acr_values"}

// ErrStepUp means the OP did not authenticate the user as a login asked
// (max_age or acr_values): the ID token's auth_time is too old, or its acr
// is not one of those asked for. It is answered with 403.
var ErrStepUp = errors.New("middleware: the OP did not authenticate the user as required")

// loginParams checks the query of a /login request and returns the
// authorization options it asks for and the step-up the callback must
// check.
func (a *Auth) loginParams(q url.Values) ([]rp.AuthOption, stepUp, error) {
	var opts []rp.AuthOption
	su := stepUp{MaxAge: -1}
	for k, vs := range q {
		check, known := queryParams[k]
		if !known {
			continue // return_to, or not for the OP
		}
		if !a.loginQuery && !slices.Contains(stepUpParams, k) {
			return nil, su, &Error{Status: http.StatusBadRequest,
				Err: fmt.Errorf("middleware: login: the parameter %s is not accepted (Config.LoginParams is off)", k)}
		}
		if len(vs) != 1 || !check(vs[0]) {
			return nil, su, &Error{Status: http.StatusBadRequest, Err: fmt.Errorf("middleware: login: bad %s", k)}
		}
		opts = append(opts, rp.Param(k, vs[0]))
		switch k {
		case "max_age":
			su.MaxAge, _ = strconv.Atoi(vs[0])
		case "acr_values":
			su.ACR = strings.Fields(vs[0])
		}
	}
	return opts, su, nil
}

// stepUp is what the callback checks in the ID token: auth_time within
// MaxAge seconds (if MaxAge >= 0) and acr among ACR (if any).
type stepUp struct {
	MaxAge int      `json:"ma,omitempty"`
	ACR    []string `json:"acr,omitempty"`
}

// check reports whether the claims meet the step-up.
func (su stepUp) check(authTime time.Time, acr string, now time.Time, skew time.Duration) error {
	if su.MaxAge >= 0 && (authTime.IsZero() || now.Sub(authTime) > time.Duration(su.MaxAge)*time.Second+skew) {
		return fmt.Errorf("%w: auth_time %v is more than %d s ago", ErrStepUp, authTime, su.MaxAge)
	}
	if len(su.ACR) > 0 && !slices.Contains(su.ACR, acr) {
		return fmt.Errorf("%w: acr %q is not one of %q", ErrStepUp, acr, su.ACR)
	}
	return nil
}

// A Requirement is what a route demands of a session beyond being live;
// see Require.
type Requirement func(*stepUp)

// MaxAge demands that the user authenticated at the OP at most d ago (the
// session's auth_time); otherwise the user logs in again with max_age.
func MaxAge(d time.Duration) Requirement {
	return func(su *stepUp) { su.MaxAge = int(d / time.Second) }
}

// ACR demands that the OP authenticated the user with one of the
// authentication context classes values (the session's acr, for example a
// second factor); otherwise the user logs in again with acr_values.
func ACR(values ...string) Requirement {
	return func(su *stepUp) { su.ACR = slices.Clone(values) }
}

// Require returns middleware like RequireLogin that also demands reqs of
// the session (step-up authentication): a session that does not meet them
// is sent to login with max_age and acr_values (a navigation) or answered
// 401 with the error insufficient_user_authentication (anything else). The
// login's callback checks that the new ID token meets them and refuses the
// login (403) if the OP did not comply.
//
//	mux.Handle("GET /admin/", auth.Require(middleware.MaxAge(5*time.Minute), middleware.ACR("mfa"))(admin))
func (a *Auth) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	su := stepUp{MaxAge: -1}
	for _, r := range reqs {
		r(&su)
	}
	return func(next http.Handler) http.Handler {
		return a.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := SessionFromContext(r.Context())
			p := s.Profile()
			if su.check(p.AuthTime, p.ACR, a.now(), 0) == nil {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			if !a.navigation(r) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"insufficient_user_authentication","error_description":"sign in again"}`+"\n")
				return
			}
			q := url.Values{}
			if rt, err := ValidReturnTo(a.externalURI(r)); err == nil {
				q.Set("return_to", rt)
			}
			if su.MaxAge >= 0 {
				q.Set("max_age", strconv.Itoa(su.MaxAge))
			}
			if len(su.ACR) > 0 {
				q.Set("acr_values", strings.Join(su.ACR, " "))
			}
			http.Redirect(w, r, a.paths.login+"?"+q.Encode(), http.StatusSeeOther)
		}))
	}
}

// printable reports whether v is valid UTF-8 without ASCII control
// characters.
func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return false
		}
	}
	return utf8.ValidString(v)
}

// validLocales accepts a space-separated list of BCP 47 language tags.
func validLocales(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for _, tag := range strings.Split(v, " ") {
		if tag == "" || len(tag) > 35 {
			return false
		}
		for i := 0; i < len(tag); i++ {
			c := tag[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validACRValues accepts a space-separated list of acr values.
func validACRValues(v string) bool {
	if v == "" || len(v) > 512 {
		return false
	}
	for _, f := range strings.Split(v, " ") {
		if f == "" || !printable(f) || strings.ContainsAny(f, `"\`) {
			return false
		}
	}
	return true
}
