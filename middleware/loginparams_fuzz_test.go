package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoginParams feeds arbitrary /login queries to the check of its
// authorization parameters, with Config.LoginParams on and off. A query is
// either refused with 400, or every parameter it passes to the OP is one of
// the allowlist, given once, printable valid UTF-8 that passes its check,
// and the step-up the callback will check is exactly max_age and
// acr_values as given.
func FuzzLoginParams(f *testing.F) {
	for _, s := range []string{
		"prompt=login", "prompt=none", "login_hint=alice%40example.com&ui_locales=de-CH+en",
		"max_age=0&acr_values=mfa+urn%3Aacr%3Ax", "max_age=-1", "max_age=99999999999",
		"prompt=login&prompt=consent", "login_hint=%00", "login_hint=%ff", "acr_values=a%22b",
		"return_to=%2Fx&foo=bar", "ui_locales=", "acr_values=a++b",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, allow bool) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query() reads it
		a := &Auth{loginQuery: allow}
		opts, su, err := a.loginParams(q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		known := 0
		for k, vs := range q {
			if _, ok := queryParams[k]; !ok {
				continue
			}
			known++
			if !allow && !slices.Contains(stepUpParams, k) {
				t.Fatalf("%s accepted with LoginParams off", k)
			}
			if len(vs) != 1 {
				t.Fatalf("%s accepted %d times", k, len(vs))
			}
			v := vs[0]
			if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("%s=%q accepted", k, v)
			}
		}
		if len(opts) != known {
			t.Fatalf("%d options for %d parameters", len(opts), known)
		}
		wantAge := -1
		if vs, ok := q["max_age"]; ok {
			wantAge, _ = strconv.Atoi(vs[0])
		}
		var wantACR []string
		if vs, ok := q["acr_values"]; ok {
			wantACR = strings.Fields(vs[0])
		}
		if su.MaxAge != wantAge || !slices.Equal(su.ACR, wantACR) {
			t.Fatalf("step-up %+v, want max_age %d and acr %q", su, wantAge, wantACR)
		}
	})
}
