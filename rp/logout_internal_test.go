package rp

import (
	"net/url"
	"strings"
	"testing"
)

func TestAppendQuery(t *testing.T) {
	params := url.Values{"client_id": {"app"}, "state": {"s 1"}}
	tests := []struct{ endpoint, want string }{
		{"https://op/logout", "https://op/logout?client_id=app&state=s+1"},
		{"https://op/logout?", "https://op/logout?client_id=app&state=s+1"},
		{"https://op/logout?a=1&", "https://op/logout?a=1&client_id=app&state=s+1"},
		// The endpoint's own query stays byte for byte, order and encoding,
		// parsable or not.
		{"https://op/logout?z=1&a=%7e&tenant=t%20x", "https://op/logout?z=1&a=%7e&tenant=t%20x&client_id=app&state=s+1"},
		{"https://op/logout?tenant=a;b", "https://op/logout?tenant=a;b&client_id=app&state=s+1"},
		{"https://op/logout?tenant=%zz", "https://op/logout?tenant=%zz&client_id=app&state=s+1"},
	}
	for _, tt := range tests {
		if got := appendQuery(tt.endpoint, params); got != tt.want {
			t.Errorf("appendQuery(%q) = %q, want %q", tt.endpoint, got, tt.want)
		}
	}
}

// FuzzEndSessionQuery checks the merge of an end-session endpoint's own
// query with the logout parameters: the endpoint is kept byte for byte,
// the appended part decodes to exactly the parameters, and when
// checkEndSessionQuery accepts the endpoint no reading of the result (split
// on "&", or on "&" and ";") gives a logout parameter a second value.
func FuzzEndSessionQuery(f *testing.F) {
	f.Add("tenant=a;b", "s 1&x", "eyJ.h.s")
	f.Add("z=1&a=%7e&tenant=t%20x", "", "h")
	f.Add("st%61te=x", "s", "")
	f.Add("a=1&", "\x00\xff日本", "h")
	f.Add("", "state=x&client_id=y", "h;ui_locales=z")
	f.Add("tenant=%zz;state", "s", "h")
	f.Fuzz(func(t *testing.T, query, state, hint string) {
		if strings.ContainsAny(query, "#") {
			t.Skip()
		}
		endpoint := "https://op.example/logout?" + query
		params := url.Values{"client_id": {"app"}}
		if state != "" {
			params.Set("state", state)
		}
		if hint != "" {
			params.Set("id_token_hint", hint)
		}
		got := appendQuery(endpoint, params)
		if !strings.HasPrefix(got, endpoint) {
			t.Fatalf("%q does not start with %q", got, endpoint)
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(got, endpoint), "&")
		appended, err := url.ParseQuery(rest)
		if err != nil || len(appended) != len(params) {
			t.Fatalf("appended %q decodes to %v (%v), want %v", rest, appended, err, params)
		}
		for k, v := range params {
			if len(appended[k]) != 1 || appended[k][0] != v[0] {
				t.Fatalf("appended %s = %q, want %q", k, appended[k], v)
			}
		}
		if checkEndSessionQuery("EndSessionURL", endpoint) != nil {
			return
		}
		_, full, _ := strings.Cut(got, "?")
		for _, seps := range []string{"&", "&;"} {
			counts := map[string]int{}
			for pair := range strings.FieldsFuncSeq(full, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
				key, _, _ := strings.Cut(pair, "=")
				if k, err := url.QueryUnescape(key); err == nil {
					key = k
				}
				counts[key]++
			}
			for _, k := range logoutParams {
				if counts[k] > 1 {
					t.Fatalf("%s appears %d times in %q (split on %q)", k, counts[k], got, seps)
				}
			}
		}
	})
}
