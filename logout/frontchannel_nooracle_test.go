package logout_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore"
)

// fcResponse is what a front-channel answer shows the OP's page and the
// browser.
type fcResponse struct {
	status int
	header http.Header
	body   string
}

func fcServe(t *testing.T, h http.Handler, method, query, cookie string) fcResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, fcRequest(t, method, query, cookie))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return fcResponse{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (r fcResponse) same(o fcResponse) bool {
	return r.status == o.status && r.body == o.body && maps.EqualFunc(r.header, o.header, slices.Equal)
}

// TestFrontChannelF10SamePage is F-10: every valid request (a trusted iss,
// any sid) gets the same answer, storage-clearing script included, whether
// it ended sessions, found them already ended (by itself or by the back
// channel) or never knew the sid; nothing tells a framing page whether a
// session existed. With KeepStorage the same holds for the script-free page.
func TestFrontChannelF10SamePage(t *testing.T) {
	for _, keep := range []bool{false, true} {
		st := newFCStore(fcFixture()...)
		h, events := newFCHandler(t, st, func(c *logout.FrontChannelConfig) { c.KeepStorage = keep })
		first := fcServe(t, h, http.MethodGet, fcQuery(fcIssuer, "S1"), "")
		if first.status != http.StatusOK {
			t.Fatalf("keep=%v: first request: status %d", keep, first.status)
		}
		if got := strings.Contains(first.body, "<script>"); got == keep {
			t.Errorf("keep=%v: page has script = %v", keep, got)
		}
		// bob's session ends through the back channel first.
		if _, err := st.DeleteBySID(t.Context(), fcIssuer, "S2"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, query string }{
			{"repeated", fcQuery(fcIssuer, "S1")},
			{"after a back-channel logout", fcQuery(fcIssuer, "S2")},
			{"unknown sid", fcQuery(fcIssuer, "S9")},
			{"another trusted issuer", fcQuery(fcIssuer2, "S1")},
		} {
			if got := fcServe(t, h, http.MethodGet, tc.query, ""); !got.same(first) {
				t.Errorf("keep=%v, %s: answer differs from the first:\n got %d %v %q\nwant %d %v %q",
					keep, tc.name, got.status, got.header, got.body, first.status, first.header, first.body)
			}
		}
		if evs := events.all(); len(evs) != 5 || evs[0].Ended != 2 || evs[1].Ended != 0 || evs[4].Ended != 1 {
			t.Errorf("keep=%v: events %+v", keep, evs)
		}
	}
}

// TestFrontChannelF10CookiePath: a cookie-only logout (AllowCookieLogout)
// answers with the same page whether or not a session came with it.
func TestFrontChannelF10CookiePath(t *testing.T) {
	st := newFCStore(fcFixture()...)
	h, _ := newFCHandler(t, st, nil)
	byParams := fcServe(t, h, http.MethodGet, fcQuery(fcIssuer, "S9"), "")
	for _, cookie := range []string{"", "gone"} {
		got := fcServe(t, h, http.MethodGet, "", cookie)
		got.header.Del("Set-Cookie") // clearing the browser's own cookie is no oracle
		if !got.same(byParams) {
			t.Errorf("cookie %q: answer %d %v %q differs from %d %v %q", cookie, got.status, got.header, got.body, byParams.status, byParams.header, byParams.body)
		}
	}
}

// countingStore counts every call that reads or writes logout state.
type countingStore struct {
	*fcStore
	calls atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	s.calls.Add(1)
	return s.fcStore.Get(ctx, id)
}

func (s *countingStore) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	s.calls.Add(1)
	return s.fcStore.Delete(ctx, id)
}

func (s *countingStore) DeleteBySID(ctx context.Context, iss, sid string) ([]*sessionstore.Session, error) {
	s.calls.Add(1)
	return s.fcStore.DeleteBySID(ctx, iss, sid)
}

func (s *countingStore) RecordLogout(ctx context.Context, l sessionstore.Logout) error {
	s.calls.Add(1)
	return s.fcStore.RecordLogout(ctx, l)
}

// TestFrontChannelF11HEAD is F-11: HEAD answers with the status and headers
// GET would send, and no body, but ends nothing, records no logout, clears
// no cookie and emits no event (RFC 9110 §9.3.2: HEAD is safe).
func TestFrontChannelF11HEAD(t *testing.T) {
	tests := []struct {
		name, query, cookie string
		sessionRequired     bool
	}{
		{name: "live iss and sid", query: fcQuery(fcIssuer, "S1")},
		{name: "live iss and sid, with the session's cookie", query: fcQuery(fcIssuer, "S1"), cookie: "alice-laptop"},
		{name: "unknown sid", query: fcQuery(fcIssuer, "S9")},
		{name: "cookie only", cookie: "bob"},
		{name: "untrusted iss", query: fcQuery("https://evil.example", "S1")},
		{name: "sid alone", query: "sid=S1"},
		{name: "no parameters, required", cookie: "bob", sessionRequired: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := func(c *logout.FrontChannelConfig) { c.AllowCookieLogout = !tt.sessionRequired }
			get := fcServe(t, func() http.Handler {
				h, _ := newFCHandler(t, newFCStore(fcFixture()...), mod)
				return h
			}(), http.MethodGet, tt.query, tt.cookie)

			st := &countingStore{fcStore: newFCStore(fcFixture()...)}
			h, events := newFCHandler(t, st, mod)
			head := fcServe(t, h, http.MethodHead, tt.query, tt.cookie)
			if head.body != "" {
				t.Errorf("HEAD body = %q", head.body)
			}
			get.header.Del("Set-Cookie") // GET may log the cookie's session out; HEAD must not
			if head.status != get.status || !maps.EqualFunc(head.header, get.header, slices.Equal) {
				t.Errorf("HEAD answered %d %v, GET %d %v", head.status, head.header, get.status, get.header)
			}
			if got := st.ids(); len(got) != len(fcFixture()) {
				t.Errorf("HEAD ended sessions: %v left", got)
			}
			if n := st.calls.Load(); n != 0 {
				t.Errorf("HEAD made %d store calls", n)
			}
			if rec, iat, err := st.Store.LastLogout(t.Context(), fcIssuer, "S1", "alice"); err != nil || !rec.IsZero() || !iat.IsZero() {
				t.Errorf("HEAD recorded a logout: %v %v %v", rec, iat, err)
			}
			if evs := events.all(); len(evs) != 0 {
				t.Errorf("HEAD emitted events: %+v", evs)
			}
		})
	}
}
