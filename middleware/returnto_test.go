package middleware

import (
	"net/url"
	"strings"
	"testing"
)

func TestValidReturnTo(t *testing.T) {
	good := map[string]string{
		"":                   "/",
		"/":                  "/",
		"/inbox":             "/inbox",
		"/a/b?c=d&e=f#g":     "/a/b?c=d&e=f#g",
		"/search?q=%2F%2Fx":  "/search?q=%2F%2Fx",
		"/caf%C3%A9":         "/caf%C3%A9",
		"/a//b":              "/a//b",
		"/?next=https://x.y": "/?next=https://x.y",
	}
	for in, want := range good {
		got, err := ValidReturnTo(in)
		if err != nil || got != want {
			t.Errorf("ValidReturnTo(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
		"https://evil.example", "https://evil.example\\@rp.example/", "http:/evil",
		"javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "evil.example",
		"/ok\r\nSet-Cookie: a=b", "/ok%0d%0aSet-Cookie:a=b", "/ok%0D%0A", "/ok%00", "/ok%7f",
		"/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil.example", "/%5c%5cevil",
		"/ ", "/\tx", "/caf\u00e9", "/%zz", strings.Repeat("/a", 2000),
	}
	for _, in := range bad {
		if got, err := ValidReturnTo(in); err == nil {
			t.Errorf("ValidReturnTo(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzValidReturnTo checks that whatever ValidReturnTo accepts stays on the
// application's origin, however a browser or proxy resolves it.
func FuzzValidReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/a?b#c", "//evil", "/\\evil", "https://evil\\@rp/", "/%2f%2fevil",
		"javascript:x", "/%0d%0a", "/a/../..//evil", "/.//evil", "/%09/evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://rp.example/app/page")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ValidReturnTo(in)
		if err != nil {
			return
		}
		if got != in && !(in == "" && got == "/") {
			t.Fatalf("ValidReturnTo(%q) changed the value to %q", in, got)
		}
		if strings.ContainsAny(got, "\\\r\n\t ") {
			t.Fatalf("accepted %q with a backslash or white space", got)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", got, err)
		}
		if r := base.ResolveReference(u); r.Host != "rp.example" || r.Scheme != "https" || r.User != nil {
			t.Fatalf("accepted %q resolves to %s", got, r)
		}
		// A proxy that decodes once before routing must see the same origin.
		dec, err := url.PathUnescape(got)
		if err != nil {
			t.Fatalf("accepted %q that does not decode: %v", got, err)
		}
		if strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") || strings.ContainsAny(dec, "\r\n\\") {
			t.Fatalf("accepted %q decodes to %q", got, dec)
		}
	})
}
