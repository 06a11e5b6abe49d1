package rptest

import (
	"net/http"
	"net/http/cookiejar"
)

// navigationAccept is the Accept header of a browser's navigation to a
// page (Firefox's).
const navigationAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// NewBrowser returns an http.Client that stands in for a browser in tests
// of the code flow, back-channel and front-channel logout: it keeps
// cookies (in a fresh cookie jar), follows redirects, and sends the Accept
// header of a browser's navigation ("text/html,application/xhtml+xml,...")
// on every request that sets none,
// so that slo's RequireLogin (and login middleware like it) takes its GETs
// for navigations and sends it to log in, rather than answering 401 as it
// does to scripts. A request that sets its own Accept, such as
// "application/json", is sent as it is. It runs no JavaScript: a page that
// needs it (the OP's front-channel logout page, session management) is
// only fetched.
func NewBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic("rptest: " + err.Error()) // cookiejar.New(nil) never fails
	}
	return &http.Client{Jar: jar, Transport: navigator{http.DefaultTransport}}
}

// navigator adds the Accept header of a navigation to requests without one.
type navigator struct{ next http.RoundTripper }

func (n navigator) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", navigationAccept)
	}
	return n.next.RoundTrip(r)
}
