package weborigin

import "testing"

func TestOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://op.example.com/realms/a?x=1#f", "https://op.example.com"},
		{"HTTPS://OP.Example.COM:443/", "https://op.example.com"},
		{"http://127.0.0.1:80/x", "http://127.0.0.1"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"https://[::1]:8443/cb", "https://[::1]:8443"},
		{"https://op.example.com:8443", "https://op.example.com:8443"},
		{"ftp://op.example.com/", ""},
		{"https://user@op.example.com/", ""},
		{"https://bücher.example/", ""},
		{"/relative", ""},
		{"mailto:a@b", ""},
		{"https://", ""},
		{"://bad", ""},
	} {
		if got := Of(tc.in); got != tc.want {
			t.Errorf("Of(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSame(t *testing.T) {
	if !Same("https://a.example/x", "https://A.example:443/y?z") {
		t.Error("same origin not recognised")
	}
	for _, b := range []string{"http://a.example/", "https://a.example:8443/", "https://b.example/", "garbage"} {
		if Same("https://a.example/", b) {
			t.Errorf("Same(https://a.example/, %q) = true", b)
		}
	}
	if Same("garbage", "garbage") {
		t.Error("two invalid URLs are not the same origin")
	}
}
