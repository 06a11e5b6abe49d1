package logout_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

const (
	fcIssuer  = "https://op.example"
	fcIssuer2 = "https://op2.example:8443/tenant/"
)

// fcStore is the memstore the tests run against, with a switch that fails
// every call (failErr) and a list of the ids it was given, to see which
// sessions survive.
type fcStore struct {
	*memstore.Store
	known   []string
	failErr error
}

func newFCStore(ss ...*sessionstore.Session) *fcStore {
	st := &fcStore{Store: memstore.New(memstore.Config{})}
	for _, s := range ss {
		if err := st.Store.Create(context.Background(), s); err != nil {
			panic(err)
		}
		st.known = append(st.known, s.ID)
	}
	return st
}

func (st *fcStore) Get(ctx context.Context, id string) (*sessionstore.Session, error) {
	if st.failErr != nil {
		return nil, st.failErr
	}
	return st.Store.Get(ctx, id)
}

func (st *fcStore) Delete(ctx context.Context, id string) (*sessionstore.Session, error) {
	if st.failErr != nil {
		return nil, st.failErr
	}
	return st.Store.Delete(ctx, id)
}

func (st *fcStore) DeleteBySID(ctx context.Context, issuer, sid string) ([]*sessionstore.Session, error) {
	if st.failErr != nil {
		return nil, st.failErr
	}
	return st.Store.DeleteBySID(ctx, issuer, sid)
}

// ids returns the ids of the sessions still stored, sorted.
func (st *fcStore) ids() []string {
	var live []string
	for _, id := range st.known {
		if _, err := st.Store.Get(context.Background(), id); err == nil {
			live = append(live, id)
		}
	}
	slices.Sort(live)
	return live
}

func fcSession(id, iss, sid, sub string) *sessionstore.Session {
	now := time.Now()
	return &sessionstore.Session{ID: id, Issuer: iss, SID: sid, Subject: sub, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// fcFixture returns the sessions every table case starts from: two sessions
// of one OP session (two devices), another session of the same OP, the same
// sid at another (trusted) issuer, and a session without sid.
func fcFixture() []*sessionstore.Session {
	return []*sessionstore.Session{
		fcSession("alice-laptop", fcIssuer, "S1", "alice"),
		fcSession("alice-phone", fcIssuer, "S1", "alice"),
		fcSession("bob", fcIssuer, "S2", "bob"),
		fcSession("carol-op2", fcIssuer2, "S1", "carol"),
		fcSession("dave-nosid", fcIssuer, "", "dave"),
	}
}

const fcCookieName = "fc_session"

// fcCookie is the cookie recogniser the tests give the handler: the cookie's
// value is the store id.
func fcCookie(r *http.Request) (string, bool) {
	c, err := r.Cookie(fcCookieName)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

func fcClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: fcCookieName, Value: "", Path: "/", MaxAge: -1})
}

// fcEvents records the events a handler emits.
type fcEvents struct {
	mu sync.Mutex
	ev []logout.Event
}

func (e *fcEvents) hook(_ context.Context, ev logout.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *fcEvents) all() []logout.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ev)
}

func fcDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newFCHandler(t testing.TB, st sessionstore.Store, mutate func(*logout.FrontChannelConfig)) (*logout.FrontChannelHandler, *fcEvents) {
	t.Helper()
	events := &fcEvents{}
	cfg := logout.FrontChannelConfig{
		Issuers:       []string{fcIssuer, fcIssuer2},
		Store:         st,
		CookieSession: fcCookie,
		ClearCookie:   fcClearCookie,
		// The tests' default is the cookie path open; sessionRequired
		// closes it.
		AllowCookieLogout: true,
		OnLogout:          events.hook,
		Logger:            fcDiscardLogger(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := logout.NewFrontChannelHandler(cfg)
	if err != nil {
		t.Fatalf("NewFrontChannelHandler: %v", err)
	}
	return h, events
}

func fcRequest(t testing.TB, method, rawQuery, cookie string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, "https://rp.example/frontchannel-logout", nil)
	r.URL.RawQuery = rawQuery
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: fcCookieName, Value: cookie})
	}
	return r
}

func fcQuery(iss, sid string) string {
	return url.Values{"iss": {iss}, "sid": {sid}}.Encode()
}

// fcCookieCleared reports whether the response expires the session cookie.
func fcCookieCleared(res *http.Response) bool {
	for _, c := range res.Cookies() {
		if c.Name == fcCookieName && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// fcCheckHeaders asserts the headers every front-channel answer carries.
func fcCheckHeaders(t *testing.T, res *http.Response, ancestors string) {
	t.Helper()
	if got := res.Header.Get("Cache-Control"); got != "no-cache, no-store" {
		t.Errorf("Cache-Control = %q, want %q", got, "no-cache, no-store")
	}
	if got := res.Header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	if v, ok := res.Header["X-Frame-Options"]; ok {
		t.Errorf("X-Frame-Options sent: %q", v)
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if got := directives["frame-ancestors"]; got != ancestors {
		t.Errorf("CSP frame-ancestors = %q, want %q (CSP %q)", got, ancestors, csp)
	}
	if got := directives["default-src"]; got != "'none'" {
		t.Errorf("CSP default-src = %q, want 'none' (CSP %q)", got, csp)
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows unsafe-inline: %q", csp)
	}
}

const fcDefaultAncestors = "https://op.example https://op2.example:8443"

// TestFrontChannelChecklist covers SPEC-CHECKLIST part 3B, rows F-1 to F-9.
func TestFrontChannelChecklist(t *testing.T) {
	all := []string{"alice-laptop", "alice-phone", "bob", "carol-op2", "dave-nosid"}
	without := func(gone ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(gone, id) })
	}
	tests := []struct {
		name            string
		query           string
		cookie          string
		sessionRequired bool
		wantStatus      int
		wantSurvivors   []string
		wantCleared     bool
		wantEnded       int
		wantRefused     bool
	}{
		{
			name: "F-1 iss and sid correct, no cookie (cross-site iframe)", query: fcQuery(fcIssuer, "S1"),
			wantStatus: 200, wantSurvivors: without("alice-laptop", "alice-phone"), wantEnded: 2,
		},
		{
			name: "F-1 iss and sid correct, cookie of that session is cleared", query: fcQuery(fcIssuer, "S1"), cookie: "alice-laptop",
			wantStatus: 200, wantSurvivors: without("alice-laptop", "alice-phone"), wantCleared: true, wantEnded: 2,
		},
		{
			name: "F-1 second trusted issuer, same sid at the first issuer survives", query: fcQuery(fcIssuer2, "S1"),
			wantStatus: 200, wantSurvivors: without("carol-op2"), wantEnded: 1,
		},
		{
			name: "F-1 with the session-required switch on", query: fcQuery(fcIssuer, "S2"), sessionRequired: true,
			wantStatus: 200, wantSurvivors: without("bob"), wantEnded: 1,
		},
		{
			name: "F-1 other query parameters of the registered URI are ignored", query: "tenant=x&" + fcQuery(fcIssuer, "S2"),
			wantStatus: 200, wantSurvivors: without("bob"), wantEnded: 1,
		},
		{
			name: "F-2 no iss/sid, not required: cookie session ended", cookie: "bob",
			wantStatus: 200, wantSurvivors: without("bob"), wantCleared: true, wantEnded: 1,
		},
		{
			name: "F-2 no iss/sid, session without sid ended by its cookie", cookie: "dave-nosid",
			wantStatus: 200, wantSurvivors: without("dave-nosid"), wantCleared: true, wantEnded: 1,
		},
		{
			name:       "F-2 no iss/sid, no cookie: no-op",
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-2 no iss/sid, cookie of an ended session: cleared, no-op", cookie: "gone",
			wantStatus: 200, wantSurvivors: all, wantCleared: true,
		},
		{
			name: "F-3 unknown sid", query: fcQuery(fcIssuer, "S9"),
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-3 sid known only at another issuer", query: fcQuery(fcIssuer2, "S2"),
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-4 iss alone", query: url.Values{"iss": {fcIssuer}}.Encode(), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-4 sid alone", query: url.Values{"sid": {"S1"}}.Encode(), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-4 sid alone, session-required", query: url.Values{"sid": {"S1"}}.Encode(), sessionRequired: true,
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-4 empty sid", query: fcQuery(fcIssuer, ""), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-5 untrusted iss", query: fcQuery("https://evil.example", "S1"), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-5 iss with a trailing slash", query: fcQuery(fcIssuer+"/", "S1"),
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-5 iss without the trailing slash", query: fcQuery(strings.TrimSuffix(fcIssuer2, "/"), "S1"),
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-5 iss differing in case", query: fcQuery("https://OP.example", "S1"),
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-5 empty iss", query: fcQuery("", "S1"),
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			// Unknown and already-ended sids cannot be told apart, so F-6
			// answers as F-3 (200); what matters is that nothing ends.
			name: "F-6 sid matches neither the cookie session nor any session", query: fcQuery(fcIssuer, "S9"), cookie: "alice-laptop",
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-6 sid of another session: the cookie session survives (FCL-9)", query: fcQuery(fcIssuer, "S2"), cookie: "alice-laptop",
			wantStatus: 200, wantSurvivors: without("bob"), wantEnded: 1,
		},
		{
			name: "F-6 same sid at another issuer does not end the cookie session", query: fcQuery(fcIssuer2, "S1"), cookie: "alice-laptop",
			wantStatus: 200, wantSurvivors: without("carol-op2"), wantEnded: 1,
		},
		{
			name: "F-7 no iss/sid although required: nothing ended", cookie: "bob", sessionRequired: true,
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-8 script in iss", query: fcQuery(`<script>alert("x")</script>`, "S1"), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-8 script, quotes and CR/LF in sid", query: fcQuery(fcIssuer, "<script>alert('x')</script>\"\r\n"), cookie: "alice-laptop",
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-8 CR/LF in iss", query: fcQuery(fcIssuer+"\r\nSet-Cookie: x=y", "S1"),
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-9 hostile frame without parameters, strict mode", cookie: "alice-laptop", sessionRequired: true,
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
		{
			name: "F-9 hostile frame with a guessed sid", query: fcQuery(fcIssuer, "1"), cookie: "alice-laptop", sessionRequired: true,
			wantStatus: 200, wantSurvivors: all,
		},
		{
			name: "F-9 hostile frame with a trusted sid of another issuer", query: fcQuery("https://evil.example", "S1"), cookie: "alice-laptop",
			wantStatus: 400, wantSurvivors: all, wantRefused: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			h, events := newFCHandler(t, st, func(c *logout.FrontChannelConfig) { c.AllowCookieLogout = !tt.sessionRequired })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, tt.query, tt.cookie))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if res.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			fcCheckHeaders(t, res, fcDefaultAncestors)
			if got := st.ids(); !slices.Equal(got, tt.wantSurvivors) {
				t.Errorf("surviving sessions = %v, want %v", got, tt.wantSurvivors)
			}
			if got := fcCookieCleared(res); got != tt.wantCleared {
				t.Errorf("cookie cleared = %v, want %v", got, tt.wantCleared)
			}
			fcCheckNoReflection(t, string(body), tt.query)

			evs := events.all()
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
			}
			ev := evs[0]
			if ev.Channel != logout.ChannelFrontChannel {
				t.Errorf("event channel = %q", ev.Channel)
			}
			if ev.Ended != tt.wantEnded {
				t.Errorf("event Ended = %d, want %d", ev.Ended, tt.wantEnded)
			}
			if got := errors.Is(ev.Err, logout.ErrFrontChannelRefused); got != tt.wantRefused {
				t.Errorf("event Err = %v, refused = %v, want %v", ev.Err, got, tt.wantRefused)
			}
			if !tt.wantRefused && ev.Err != nil {
				t.Errorf("event Err = %v, want nil", ev.Err)
			}
		})
	}
}

// fcCheckNoReflection asserts that no iss or sid value of the query appears
// in the page.
func fcCheckNoReflection(t *testing.T, body, rawQuery string) {
	t.Helper()
	q, _ := url.ParseQuery(rawQuery)
	for _, key := range []string{"iss", "sid"} {
		for _, v := range q[key] {
			if len(v) >= 2 && strings.Contains(body, v) {
				t.Errorf("page reflects %s %q: %s", key, v, body)
			}
		}
	}
	for _, bad := range []string{"alert", "evil", "Set-Cookie"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q: %s", bad, body)
		}
	}
}

func TestFrontChannelMalformedQuery(t *testing.T) {
	tests := []struct{ name, query string }{
		{"repeated iss", "iss=" + url.QueryEscape(fcIssuer) + "&iss=" + url.QueryEscape(fcIssuer) + "&sid=S1"},
		{"repeated sid", "iss=" + url.QueryEscape(fcIssuer) + "&sid=S1&sid=S2"},
		{"repeated sid, same value", "iss=" + url.QueryEscape(fcIssuer) + "&sid=S1&sid=S1"},
		{"bad percent escape", "iss=" + url.QueryEscape(fcIssuer) + "&sid=S1%zz"},
		{"bad escape elsewhere", "x=%&iss=" + url.QueryEscape(fcIssuer) + "&sid=S1"},
		{"semicolon separator", "iss=" + url.QueryEscape(fcIssuer) + ";sid=S1"},
		{"empty values", "iss=&sid="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			h, events := newFCHandler(t, st, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, tt.query, "alice-laptop"))
			res := rec.Result()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", res.StatusCode)
			}
			fcCheckHeaders(t, res, fcDefaultAncestors)
			if got := len(st.ids()); got != len(fcFixture()) {
				t.Errorf("%d sessions survive, want all %d", got, len(fcFixture()))
			}
			if fcCookieCleared(res) {
				t.Error("cookie cleared by a malformed request")
			}
			if evs := events.all(); len(evs) != 1 || !errors.Is(evs[0].Err, logout.ErrFrontChannelRefused) {
				t.Errorf("events = %+v, want one refused", evs)
			}
		})
	}
}

// TestFrontChannelSIDRoundTrip checks that sids made of any VSCHAR
// characters end exactly their own sessions, whichever way the OP encoded
// the query.
func TestFrontChannelSIDRoundTrip(t *testing.T) {
	var vschar strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		vschar.WriteByte(c)
	}
	sids := []string{
		"a b", "a+b", "a&b=c", "#frag", "100%", "%20", "%2B", `"quoted'`, "a;b", "?x=1", " leading", "trailing ",
		vschar.String(),
	}
	encoders := map[string]func(string) string{
		"form (url.Values)":       func(s string) string { return url.QueryEscape(s) },
		"percent-20 for space":    func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") },
		"every byte escaped":      fcEscapeAll,
		"path-style (PathEscape)": fcPathStyle,
	}
	for _, sid := range sids {
		for name, enc := range encoders {
			t.Run(name+"/"+sid, func(t *testing.T) {
				// The OP session under test, and neighbours whose sids
				// differ by one character or by a decoding step.
				var ss []*sessionstore.Session
				ss = append(ss, fcSession("target", fcIssuer, sid, "u"))
				for i, other := range slices.Compact(slices.Sorted(slices.Values([]string{
					sid + " ", strings.ReplaceAll(sid, " ", "+"), strings.ReplaceAll(sid, "+", " "),
					url.QueryEscape(sid), strings.TrimSpace(sid) + "x",
				}))) {
					if other != sid {
						ss = append(ss, fcSession("other-"+string(rune('a'+i)), fcIssuer, other, "u"))
					}
				}
				st := newFCStore(ss...)
				h, events := newFCHandler(t, st, nil)
				q := "iss=" + url.QueryEscape(fcIssuer) + "&sid=" + enc(sid)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, fcRequest(t, http.MethodGet, q, ""))
				if rec.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200 (query %q)", rec.Code, q)
				}
				left := st.ids()
				if slices.Contains(left, "target") {
					t.Errorf("session with sid %q survived query %q", sid, q)
				}
				if len(left) != len(ss)-1 {
					t.Errorf("query %q ended %d sessions, want only the target", q, len(ss)-len(left))
				}
				if evs := events.all(); len(evs) != 1 || evs[0].SID != sid {
					t.Errorf("event = %+v, want SID %q", evs, sid)
				}
			})
		}
	}
}

func fcEscapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%")
		b.WriteString(strings.ToUpper(fcHexByte(s[i])))
	}
	return b.String()
}

func fcHexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// fcPathStyle escapes like url.PathEscape, which leaves '+' alone, then
// escapes what a query value cannot hold literally ('+', '&', '=', ';').
func fcPathStyle(s string) string {
	e := url.PathEscape(s)
	return strings.NewReplacer("+", "%2B", "&", "%26", "=", "%3D", ";", "%3B").Replace(e)
}

// TestFrontChannelPlusDecoding pins url.ParseQuery semantics: '+' is a space,
// %2B is a plus.
func TestFrontChannelPlusDecoding(t *testing.T) {
	tests := []struct {
		rawSID   string
		wantGone []string
	}{
		{"a+b", []string{"space"}},
		{"a%20b", []string{"space"}},
		{"a%2Bb", []string{"plus"}},
		{"a%2bb", []string{"plus"}},
	}
	for _, tt := range tests {
		t.Run(tt.rawSID, func(t *testing.T) {
			st := newFCStore(fcSession("space", fcIssuer, "a b", "u"), fcSession("plus", fcIssuer, "a+b", "u"))
			h, _ := newFCHandler(t, st, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, "iss="+url.QueryEscape(fcIssuer)+"&sid="+tt.rawSID, ""))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d", rec.Code)
			}
			all := []string{"plus", "space"}
			want := slices.DeleteFunc(all, func(id string) bool { return slices.Contains(tt.wantGone, id) })
			if got := st.ids(); !slices.Equal(got, want) {
				t.Errorf("survivors = %v, want %v", got, want)
			}
		})
	}
}

func TestFrontChannelIdempotent(t *testing.T) {
	st := newFCStore(fcFixture()...)
	h, events := newFCHandler(t, st, nil)
	for i, wantEnded := range []int{2, 0, 0} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, fcRequest(t, http.MethodGet, fcQuery(fcIssuer, "S1"), ""))
		if rec.Code != http.StatusOK {
			t.Errorf("request %d: status = %d, want 200", i, rec.Code)
		}
		evs := events.all()
		if got := evs[len(evs)-1]; got.Ended != wantEnded || got.Err != nil {
			t.Errorf("request %d: event = %+v, want Ended %d and no error", i, got, wantEnded)
		}
	}
}

func TestFrontChannelMethods(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "BREW"} {
		t.Run(m, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			h, events := newFCHandler(t, st, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, m, fcQuery(fcIssuer, "S1"), "alice-laptop"))
			res := rec.Result()
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("status = %d, want 405", res.StatusCode)
			}
			if got := res.Header.Get("Allow"); got != "GET, HEAD" {
				t.Errorf("Allow = %q, want %q", got, "GET, HEAD")
			}
			fcCheckHeaders(t, res, fcDefaultAncestors)
			if got := len(st.ids()); got != len(fcFixture()) {
				t.Errorf("%s ended sessions: %d left", m, got)
			}
			if fcCookieCleared(res) {
				t.Error("cookie cleared")
			}
			if evs := events.all(); len(evs) != 1 || !errors.Is(evs[0].Err, logout.ErrFrontChannelRefused) {
				t.Errorf("events = %+v, want one refused", evs)
			}
		})
	}
}

// TestFrontChannelHEAD checks that HEAD, over a real connection, gets GET's
// answer without a body and ends nothing (F-11; TestFrontChannelF11HEAD
// compares it with GET in detail).
func TestFrontChannelHEAD(t *testing.T) {
	st := newFCStore(fcFixture()...)
	h, _ := newFCHandler(t, st, nil)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"?"+fcQuery(fcIssuer, "S2"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", res.StatusCode)
	}
	if len(body) != 0 {
		t.Errorf("HEAD body = %q", body)
	}
	fcCheckHeaders(t, res, fcDefaultAncestors)
	if !slices.Contains(st.ids(), "bob") {
		t.Error("HEAD ended the session")
	}

	// A recorder keeps what the handler writes: it must write no body.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, fcRequest(t, http.MethodHead, "", ""))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD no-op: status %d, body %q", rec.Code, rec.Body.String())
	}
}

func TestFrontChannelStoreFailure(t *testing.T) {
	boom := errors.New("store down")
	tests := []struct {
		name        string
		query       string
		cookie      string
		wantCleared bool
	}{
		{"by sid", fcQuery(fcIssuer, "S1"), "", false},
		{"by sid with cookie", fcQuery(fcIssuer, "S1"), "alice-laptop", false},
		{"by cookie: cleared anyway", "", "bob", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			st.failErr = boom
			h, events := newFCHandler(t, st, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, tt.query, tt.cookie))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", res.StatusCode)
			}
			fcCheckHeaders(t, res, fcDefaultAncestors)
			if strings.Contains(string(body), boom.Error()) {
				t.Errorf("page leaks the store error: %s", body)
			}
			if got := fcCookieCleared(res); got != tt.wantCleared {
				t.Errorf("cookie cleared = %v, want %v", got, tt.wantCleared)
			}
			evs := events.all()
			if len(evs) != 1 || !errors.Is(evs[0].Err, boom) || errors.Is(evs[0].Err, logout.ErrFrontChannelRefused) {
				t.Errorf("events = %+v, want one carrying the store error", evs)
			}
		})
	}
}

// TestFrontChannelOutlivesRequest checks that an accepted logout is carried
// out even when the browser has already left the OP's page.
func TestFrontChannelOutlivesRequest(t *testing.T) {
	st := newFCStore(fcFixture()...)
	h, _ := newFCHandler(t, st, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := fcRequest(t, http.MethodGet, fcQuery(fcIssuer, "S1"), "").WithContext(ctx)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", rec.Code)
	}
	if slices.Contains(st.ids(), "alice-laptop") {
		t.Error("session survived a request whose context was cancelled")
	}
}

func TestFrontChannelEvent(t *testing.T) {
	st := newFCStore(fcFixture()...)
	h, events := newFCHandler(t, st, nil)
	h.ServeHTTP(httptest.NewRecorder(), fcRequest(t, http.MethodGet, fcQuery(fcIssuer, "S1"), "alice-phone"))
	h.ServeHTTP(httptest.NewRecorder(), fcRequest(t, http.MethodGet, "", "bob"))
	h.ServeHTTP(httptest.NewRecorder(), fcRequest(t, http.MethodGet, fcQuery("https://evil.example", strings.Repeat("x", 1000)), ""))
	evs := events.all()
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	want := []logout.Event{
		{Channel: logout.ChannelFrontChannel, Issuer: fcIssuer, SID: "S1", Subject: "alice", Ended: 2},
		{Channel: logout.ChannelFrontChannel, Issuer: fcIssuer, SID: "S2", Subject: "bob", Ended: 1},
	}
	for i, w := range want {
		if evs[i] != w {
			t.Errorf("event %d = %+v, want %+v", i, evs[i], w)
		}
	}
	refused := evs[2]
	if refused.Ended != 0 || !errors.Is(refused.Err, logout.ErrFrontChannelRefused) || refused.Issuer != "https://evil.example" {
		t.Errorf("refused event = %+v", refused)
	}
	if len(refused.SID) > 300 {
		t.Errorf("refused event keeps a %d-byte untrusted sid", len(refused.SID))
	}
}

// TestFrontChannelPage checks the storage-clearing script and its CSP hash,
// and the script-free variants.
func TestFrontChannelPage(t *testing.T) {
	tests := []struct {
		name        string
		keepStorage bool
		query       string
		wantScript  bool
	}{
		{"sessions ended: script clears storage", false, fcQuery(fcIssuer, "S1"), true},
		{"KeepStorage: script-free", true, fcQuery(fcIssuer, "S1"), false},
		{"nothing ended: the same page, script included (F-10)", false, fcQuery(fcIssuer, "S9"), true},
		{"cookie path, no cookie: the same page (F-10)", false, "", true},
		{"refused: script-free", false, fcQuery("https://evil.example", "S1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			h, _ := newFCHandler(t, st, func(c *logout.FrontChannelConfig) { c.KeepStorage = tt.keepStorage })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, tt.query, ""))
			body := rec.Body.String()
			csp := rec.Header().Get("Content-Security-Policy")
			_, rest, hasScript := strings.Cut(body, "<script>")
			if hasScript != tt.wantScript {
				t.Fatalf("page has script = %v, want %v: %s", hasScript, tt.wantScript, body)
			}
			if !hasScript {
				if strings.Contains(csp, "script-src") {
					t.Errorf("script-free page allows scripts: %q", csp)
				}
				return
			}
			script, _, ok := strings.Cut(rest, "</script>")
			if !ok {
				t.Fatalf("unterminated script: %s", body)
			}
			for _, call := range []string{"localStorage.clear()", "sessionStorage.clear()"} {
				if !strings.Contains(script, call) {
					t.Errorf("script lacks %s: %s", call, script)
				}
			}
			sum := sha256.Sum256([]byte(script))
			hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
			if !strings.Contains(csp, "script-src "+hash) {
				t.Errorf("CSP %q does not allow the script by its hash %s", csp, hash)
			}
		})
	}
}

func TestFrontChannelFrameAncestors(t *testing.T) {
	tests := []struct {
		name      string
		issuers   []string
		ancestors []string
		want      string
	}{
		{"issuer origins, deduplicated", []string{"https://op.example/a", "https://op.example/b", "http://localhost:9000/"}, nil,
			"https://op.example http://localhost:9000"},
		{"explicit list replaces the default", []string{fcIssuer}, []string{"https://login.example", "'self'", "https://*.example.com"},
			"https://login.example 'self' https://*.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newFCHandler(t, newFCStore(), func(c *logout.FrontChannelConfig) {
				c.Issuers, c.FrameAncestors = tt.issuers, tt.ancestors
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fcRequest(t, http.MethodGet, "", ""))
			fcCheckHeaders(t, rec.Result(), tt.want)
		})
	}
}

func TestNewFrontChannelHandlerErrors(t *testing.T) {
	_, err := logout.NewFrontChannelHandler(logout.FrontChannelConfig{
		StoreTimeout:   -time.Second,
		FrameAncestors: []string{"https://ok.example", "https://x.example; script-src *", "'unsafe-inline'", "https://x.example/path"},
	})
	if err == nil {
		t.Fatal("no error for an empty config")
	}
	for _, want := range []string{"Issuers is empty", "Store is nil", "StoreTimeout is negative", "script-src", "unsafe-inline", "/path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ok.example") {
		t.Errorf("error %q blames a valid ancestor", err)
	}

	for _, iss := range []string{"op.example", "ftp://op.example", "https://op.example?x=1", "https://op.example#f", "https://", "https://user@op.example"} {
		_, err := logout.NewFrontChannelHandler(logout.FrontChannelConfig{Issuers: []string{iss}, Store: newFCStore()})
		if err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
}

// TestFrontChannelCookiePathMustBeFramed: without iss and sid (AllowCookieLogout off
// off) the cookie's session is ended only for a framed request. A top-level
// navigation from another site carries SameSite=Lax cookies, so it would
// otherwise be a drive-by logout.
func TestFrontChannelCookiePathMustBeFramed(t *testing.T) {
	for _, tt := range []struct {
		dest  string
		code  int
		ended bool
	}{
		{dest: "document", code: http.StatusBadRequest},
		{dest: "image", code: http.StatusBadRequest},
		{dest: "iframe", code: http.StatusOK, ended: true},
		{dest: "", code: http.StatusOK, ended: true}, // browsers without Fetch Metadata
	} {
		t.Run(tt.dest, func(t *testing.T) {
			st := newFCStore(fcFixture()...)
			h, events := newFCHandler(t, st, nil)
			r := fcRequest(t, http.MethodGet, "", "alice-laptop")
			if tt.dest != "" {
				r.Header.Set("Sec-Fetch-Dest", tt.dest)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			_, err := st.Get(t.Context(), "alice-laptop")
			if ended := errors.Is(err, sessionstore.ErrNotFound); ended != tt.ended {
				t.Fatalf("session ended = %v, want %v", ended, tt.ended)
			}
			if evs := events.all(); len(evs) != 1 || (evs[0].Err == nil) == (tt.code != http.StatusOK) {
				t.Fatalf("events = %+v", evs)
			}
		})
	}
}

// TestFrontChannelSIDWithoutIss: with AllowSIDWithoutIss and one issuer, a
// request with sid but no iss (as Microsoft Entra ID sends it) ends that
// issuer's sessions of the sid; without the option, or with an empty sid,
// it is refused.
func TestFrontChannelSIDWithoutIss(t *testing.T) {
	sidOnly := url.Values{"sid": {"S1"}}.Encode()
	st := newFCStore(fcFixture()...)
	h, _ := newFCHandler(t, st, func(c *logout.FrontChannelConfig) { c.AllowCookieLogout = false })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, fcRequest(t, http.MethodGet, sidOnly, ""))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("sid without iss by default = %d, want 400", rec.Code)
	}

	h, events := newFCHandler(t, st, func(c *logout.FrontChannelConfig) {
		c.Issuers, c.AllowSIDWithoutIss, c.AllowCookieLogout = []string{fcIssuer}, true, false
	})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, fcRequest(t, http.MethodGet, sidOnly, ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("sid without iss, allowed = %d, want 200", rec.Code)
	}
	if evs := events.all(); len(evs) != 1 || evs[0].Issuer != fcIssuer || evs[0].SID != "S1" || evs[0].Ended != 2 {
		t.Fatalf("events = %+v, want the two sessions of (%s, S1) ended", evs, fcIssuer)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, fcRequest(t, http.MethodGet, "sid=", ""))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("empty sid = %d, want 400", rec.Code)
	}

	if _, err := logout.NewFrontChannelHandler(logout.FrontChannelConfig{Issuers: []string{fcIssuer, fcIssuer2},
		Store: st, AllowSIDWithoutIss: true}); err == nil {
		t.Error("AllowSIDWithoutIss with two issuers was accepted")
	}
}
