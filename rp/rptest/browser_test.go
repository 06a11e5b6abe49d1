package rptest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/rp/rptest"
)

// TestNewBrowser: requests without Accept are sent as navigations, on
// every hop of a redirect; a request's own Accept is kept; cookies are
// kept; the caller's request is not changed.
func TestNewBrowser(t *testing.T) {
	type seen struct{ path, accept, cookie string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("c")
		v := ""
		if ck != nil {
			v = ck.Value
		}
		got = append(got, seen{r.URL.Path, r.Header.Get("Accept"), v})
		if r.URL.Path == "/start" {
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "v", Path: "/"})
			http.Redirect(w, r, "/next", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)

	b := rptest.NewBrowser()
	if b.Jar == nil {
		t.Fatal("no cookie jar")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/start", nil)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get("Accept") != "" {
		t.Errorf("the caller's request was changed: Accept %q", req.Header.Get("Accept"))
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api", nil)
	req.Header.Set("Accept", "application/json")
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if len(got) != 3 {
		t.Fatalf("requests %+v", got)
	}
	for _, s := range got[:2] {
		if !strings.HasPrefix(s.accept, "text/html") {
			t.Errorf("%s: Accept %q, want a navigation's", s.path, s.accept)
		}
	}
	if got[1].cookie != "v" || got[2].cookie != "v" {
		t.Errorf("cookie not kept: %+v", got)
	}
	if got[2].accept != "application/json" {
		t.Errorf("/api: Accept %q, want the request's own", got[2].accept)
	}
	if other := rptest.NewBrowser(); other.Jar == b.Jar {
		t.Error("two browsers share a cookie jar")
	}
}
