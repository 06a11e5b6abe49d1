package logout_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/sessionstore"
)

// fcFuzzSessions are the sessions every fuzz iteration starts from. Their
// sids hold the characters that encodings disagree on.
func fcFuzzSessions() []*sessionstore.Session {
	return []*sessionstore.Session{
		fcSession("cookie", fcIssuer, "a b", "alice"),
		fcSession("plus", fcIssuer, "a+b", "alice"),
		fcSession("pct", fcIssuer, "100%", "bob"),
		fcSession("punct", fcIssuer, `&#"'<>;=?`, "carol"),
		fcSession("plain", fcIssuer, "S1", "dave"),
		fcSession("other-iss", fcIssuer2, "S1", "erin"),
		fcSession("untrusted-iss", "https://evil.example", "S1", "frank"),
		fcSession("nosid", fcIssuer, "", "grace"),
	}
}

// FuzzFrontChannelQuery feeds raw query strings to the handler. It must never
// panic, never reflect the request, and never end a session unless the query
// names it exactly: one iss equal to a trusted issuer and to the session's,
// one sid equal to the session's; or, with neither parameter and the
// session-required switch off, the session of the cookie that came.
func FuzzFrontChannelQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		fcQuery(fcIssuer, "S1"),
		fcQuery(fcIssuer, "a b"),
		"iss=" + url.QueryEscape(fcIssuer) + "&sid=a%20b",
		"iss=" + url.QueryEscape(fcIssuer) + "&sid=a%2Bb",
		"iss=" + url.QueryEscape(fcIssuer) + "&sid=100%25",
		"iss=" + url.QueryEscape(fcIssuer) + "&sid=100%",
		fcQuery(fcIssuer, `&#"'<>;=?`),
		fcQuery(fcIssuer2, "S1"),
		fcQuery("https://evil.example", "S1"),
		fcQuery(fcIssuer+"/", "S1"),
		"iss=" + url.QueryEscape(fcIssuer),
		"sid=S1",
		"iss=" + url.QueryEscape(fcIssuer) + "&sid=S1&sid=S1",
		"iss=" + url.QueryEscape(fcIssuer) + ";sid=S1",
		"iss=" + fcIssuer + "&sid=S1",
		"ISS=" + url.QueryEscape(fcIssuer) + "&SID=S1",
		"iss=&sid=",
		"&&&==&",
		"iss=%zz&sid=S1",
		"tenant=1&" + fcQuery(fcIssuer, "S1") + "#frag",
	} {
		f.Add(seed, true, false, false)
		f.Add(seed, false, true, false)
		f.Add(seed, true, false, true)
	}

	// The two pages the handler answers with (F-10: every accepted request
	// gets the same one), learnt from known requests.
	page := func(q string) string {
		h, _ := newFCHandler(f, newFCStore(fcFuzzSessions()...), nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, fcRequest(f, http.MethodGet, q, ""))
		return rec.Body.String()
	}
	pages := map[int]string{http.StatusOK: page(fcQuery(fcIssuer, "S1")), http.StatusBadRequest: page("iss=x")}
	if pages[http.StatusOK] == pages[http.StatusBadRequest] || page("") != pages[http.StatusOK] || page(fcQuery(fcIssuer, "S9")) != pages[http.StatusOK] {
		f.Fatalf("pages: %q", pages)
	}

	f.Fuzz(func(t *testing.T, rawQuery string, withCookie, sessionRequired, head bool) {
		st := newFCStore(fcFuzzSessions()...)
		h, events := newFCHandler(t, st, func(c *logout.FrontChannelConfig) { c.AllowCookieLogout = !sessionRequired })
		cookie := ""
		if withCookie {
			cookie = "cookie"
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		r := httptest.NewRequest(method, "https://rp.example/frontchannel-logout", nil)
		r.URL.RawQuery = rawQuery
		if withCookie {
			r.AddCookie(&http.Cookie{Name: fcCookieName, Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)

		want, ok := pages[rec.Code]
		if !ok {
			t.Fatalf("status %d for %q", rec.Code, rawQuery)
		}
		if head {
			// F-11: answered like GET, but nothing ends, is recorded or
			// emitted, and there is no body.
			if rec.Body.Len() != 0 || len(events.all()) != 0 || len(st.ids()) != len(fcFuzzSessions()) || fcCookieCleared(rec.Result()) {
				t.Fatalf("HEAD %q: body %q, events %v, sessions %v", rawQuery, rec.Body, events.all(), st.ids())
			}
			return
		}
		if rec.Body.String() != want {
			t.Fatalf("unexpected page for %q (status %d): %q", rawQuery, rec.Code, rec.Body.String())
		}
		if len(events.all()) != 1 {
			t.Fatalf("%d events for %q", len(events.all()), rawQuery)
		}

		q, perr := url.ParseQuery(rawQuery)
		_, hasIss := q["iss"]
		_, hasSID := q["sid"]
		noParams := perr == nil && !hasIss && !hasSID
		names := func(s *sessionstore.Session) bool {
			return perr == nil && slices.Equal(q["iss"], []string{s.Issuer}) &&
				slices.Equal(q["sid"], []string{s.SID}) &&
				(s.Issuer == fcIssuer || s.Issuer == fcIssuer2)
		}
		survivors := st.ids()
		var cookieSession *sessionstore.Session
		for _, s := range fcFuzzSessions() {
			if s.ID == cookie {
				cookieSession = s
			}
			if slices.Contains(survivors, s.ID) {
				continue
			}
			byCookie := noParams && !sessionRequired && s.ID == cookie
			if !names(s) && !byCookie {
				t.Fatalf("query %q (cookie %v, required %v) ended session %q (iss %q, sid %q)",
					rawQuery, withCookie, sessionRequired, s.ID, s.Issuer, s.SID)
			}
		}
		cleared := fcCookieCleared(rec.Result())
		mayClear := withCookie && ((noParams && !sessionRequired) || names(cookieSession))
		if cleared && !mayClear {
			t.Fatalf("query %q cleared the cookie", rawQuery)
		}
	})
}
