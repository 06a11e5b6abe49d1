package logout

import (
	"net/url"
	"strings"
	"testing"
)

// parseQueryParam is what logoutTokenParam replaces: url.ParseQuery and a
// look at the logout_token values. It is the reference the fuzz target and
// the benchmark compare with.
func parseQueryParam(body string) (string, string) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return "", "malformed form body"
	}
	switch toks := form["logout_token"]; {
	case len(toks) == 0:
		return "", "logout_token missing"
	case len(toks) > 1:
		return "", "logout_token repeated"
	case toks[0] == "":
		return "", "logout_token empty"
	default:
		return toks[0], ""
	}
}

func TestLogoutTokenParam(t *testing.T) {
	for _, tc := range []struct {
		body, tok, why string
	}{
		{"logout_token=abc", "abc", ""},
		{"a=1&logout_token=a.b.c&b=2", "a.b.c", ""},
		{"logout%5Ftoken=x", "x", ""},
		{"logout_token=a%2Bb+c", "a+b c", ""},
		{"&&logout_token=x&&", "x", ""},
		{"logout_token", "", "logout_token empty"},
		{"logout_token=", "", "logout_token empty"},
		{"logout_token=%41", "A", ""},
		{"", "", "logout_token missing"},
		{"logout_tokenx=1", "", "logout_token missing"},
		{"logout_token=a&logout_token=b", "", "logout_token repeated"},
		{"logout_token=a&logout%5ftoken=b", "", "logout_token repeated"},
		{"logout_token=a&logout_token=", "", "logout_token repeated"},
		{"logout_token=%zz", "", "malformed form body"},
		{"logout_token=x&other=%4", "", "malformed form body"},
		{"logout_token=x&%=1", "", "malformed form body"},
		{"logout_token=x;y=1", "", "malformed form body"},
		{"a;b&logout_token=x", "", "malformed form body"},
	} {
		tok, why := logoutTokenParam(tc.body)
		if tok != tc.tok || why != tc.why {
			t.Errorf("logoutTokenParam(%q) = %q, %q; want %q, %q", tc.body, tok, why, tc.tok, tc.why)
		}
		if rtok, rwhy := parseQueryParam(tc.body); rtok != tok || rwhy != why {
			t.Errorf("url.ParseQuery reads %q as %q, %q; logoutTokenParam as %q, %q", tc.body, rtok, rwhy, tok, why)
		}
	}
}

// FuzzLogoutTokenParam: logoutTokenParam reads every body as url.ParseQuery
// does (up to ParseQuery's limit on the number of pairs, which the bounded
// body makes moot for logoutTokenParam, whose cost is linear).
func FuzzLogoutTokenParam(f *testing.F) {
	for _, s := range []string{
		"logout_token=abc", "a=1&logout_token=a.b.c", "logout%5Ftoken=x", "logout_token=a%2Bb+c",
		"logout_token=a&logout_token=b", "logout_token=%zz", "logout_token=x;y", "=&&=%", "logout_token=%e2%82",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if strings.Count(body, "&") >= 10000 {
			return
		}
		tok, why := logoutTokenParam(body)
		rtok, rwhy := parseQueryParam(body)
		if tok != rtok || why != rwhy {
			t.Fatalf("body %q: logoutTokenParam = %q, %q; url.ParseQuery reads %q, %q", body, tok, why, rtok, rwhy)
		}
	})
}

// BenchmarkLogoutTokenParam compares logoutTokenParam with url.ParseQuery
// on a body as OPs send it (one RS256 logout token, nothing else to
// unescape), and reports the ratio (x-parsequery).
//
//	go test -run='^$' -bench=BenchmarkLogoutTokenParam -count=5 ./logout/
func BenchmarkLogoutTokenParam(b *testing.B) {
	body := url.Values{"logout_token": {tok{}.mint(b)}}.Encode()
	var own, ref float64
	b.Run("own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, why := logoutTokenParam(body); why != "" {
				b.Fatal(why)
			}
		}
		own = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("url.ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, why := parseQueryParam(body); why != "" {
				b.Fatal(why)
			}
		}
		ref = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(own/ref, "x-parsequery")
	})
}
