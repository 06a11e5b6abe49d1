package interop_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidc-slo/slo/internal/e2e/browser"
	"github.com/oidc-slo/slo/internal/e2e/oidcprovider"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/sessionstore"
)

// checkInterval is the session check's polling interval in
// TestV6SessionManagementChromium.
const checkInterval = 300 * time.Millisecond

// checkedPage is the app's page with the middleware's session check
// (GET /checked, with appOptions.sessionCheck). Signed in, it shows
// #signed-in carrying the store's session ID in data-session, so that the
// test can look the session up; signed out, #signed-out.
func (a *app) checkedPage(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Name, Subject, Session string
		SessionCheck           template.HTML
	}{Name: a.name, SessionCheck: a.m.SessionCheckSnippet(r.Context())}
	if s, ok := middleware.SessionFromContext(r.Context()); ok {
		data.Subject, data.Session = s.Subject, s.ID
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = checkedTmpl.Execute(w, data)
}

var checkedTmpl = template.Must(template.New("checked").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head><body>
{{if .Session}}<p id="signed-in" data-session="{{.Session}}">Signed in as {{.Subject}}</p>{{else}}<p id="signed-out">Not signed in.</p>{{end}}
{{.SessionCheck}}
</body></html>
`))

// recheckLog records, in front of an app, the prompt=none re-checks the
// session-check page asks for and the error codes its callback receives.
type recheckLog struct {
	mu        sync.Mutex
	rechecks  []time.Time // arrivals of GET /session-check/recheck
	callbacks []string    // the error parameter of each GET /callback ("" for none)
}

// watchRechecks puts a recheckLog in front of a's handler; call it after
// (*app).start.
func watchRechecks(a *app) *recheckLog {
	l := &recheckLog{}
	next := *a.handler.Load()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch q := r.URL.Query(); {
		case r.URL.Path == "/session-check/recheck":
			l.mu.Lock()
			l.rechecks = append(l.rechecks, time.Now())
			l.mu.Unlock()
		case r.URL.Path == "/callback":
			l.mu.Lock()
			l.callbacks = append(l.callbacks, q.Get("error"))
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	a.handler.Store(&h)
	return l
}

func (l *recheckLog) snapshot() (rechecks []time.Time, callbacks []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.rechecks...), append([]string(nil), l.callbacks...)
}

// TestV6SessionManagementChromium: the middleware's session check against
// oidc-provider 6.31.1 in chromium. The app registered no logout channel,
// so only Session Management can tell it that the user logged out at the
// OP. Its page's RP iframe reports "unchanged"; then the user logs out at
// the OP in another tab, directly or by signing out of another app
// (RP-initiated logout); within about one polling interval the page sees
// "changed", the prompt=none re-check gets login_required, the session
// ends server-side with a session-management logout event, and the page
// reloads signed out.
//
// The OP and the apps share the site 127.0.0.1 (see
// TestV6CheckSessionIframeChromium for why v6 needs that over http).
// Foreign messages and "error" answers are covered against slo's testop in
// internal/e2e/sessionmgmt.
func TestV6SessionManagementChromium(t *testing.T) {
	tests := []struct {
		name string
		// prepare, if set, runs before logout, in the same tab.
		prepare func(ctx context.Context, t *testing.T, other *app)
		// logout ends the OP session; ctx is a second tab of the browser.
		logout func(ctx context.Context, t *testing.T, other *app)
	}{
		{
			name: "at the OP",
			logout: func(ctx context.Context, t *testing.T, other *app) {
				t.Helper()
				if err := chromedp.Do(ctx,
					chromedp.Navigate(other.client.Metadata().EndSessionEndpoint),
					chromedp.Poll[chromedp.Void](`location.pathname.startsWith("/session/end/success")`, browser.FastPoll),
				); err != nil {
					t.Fatalf("logout at the OP: %v", err)
				}
			},
		},
		{
			name: "from another app",
			prepare: func(ctx context.Context, t *testing.T, other *app) {
				t.Helper()
				if err := chromedp.Do(ctx,
					chromedp.Navigate(other.url("/login?return_to=/checked")),
					chromedp.WaitVisible(chromedp.CSS("#signed-in")),
				); err != nil {
					t.Fatalf("log in to %s: %v", other.name, err)
				}
			},
			logout: func(ctx context.Context, t *testing.T, other *app) {
				t.Helper()
				// The app's sign-out form, same origin (the middleware
				// refuses cross-origin sign-outs).
				if err := chromedp.Do(ctx,
					chromedp.Evaluate[chromedp.Void](`(() => {
						const f = document.createElement("form");
						f.method = "post";
						f.action = "/logout";
						const r = document.createElement("input");
						r.type = "hidden";
						r.name = "return_to";
						r.value = "/checked";
						f.appendChild(r);
						document.body.appendChild(f);
						f.submit();
					})()`),
				); err != nil {
					t.Fatalf("sign out of %s: %v", other.name, err)
				}
				browser.WaitTruthy(ctx, t, "the return from the OP to "+other.name, `location.href === `+strconv.Quote(other.url("/checked"))+` && document.getElementById("signed-out") !== null`)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := browser.New(t)
			a := newApp(t, "smcheck", appOptions{noChannels: true, sessionCheck: checkInterval})
			other := newApp(t, "smother", appOptions{noChannels: true, sessionCheck: checkInterval})
			op := oidcprovider.Start(t, oidcprovider.Options{
				Version: oidcprovider.V6,
				Clients: []oidcprovider.Client{a.registration(), other.registration()},
			})
			a.start(t, op)
			other.start(t, op)
			rechecks := watchRechecks(a)
			if a.client.Metadata().CheckSessionIframe == "" {
				t.Fatal("discovery: no check_session_iframe")
			}
			ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()

			// Log in; the page's session check settles on "unchanged".
			if err := chromedp.Do(ctx,
				chromedp.Navigate(a.url("/login?return_to=/checked")),
				chromedp.WaitVisible(chromedp.CSS("#signed-in")),
			); err != nil {
				t.Fatalf("log in: %v", err)
			}
			id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("signed-in").dataset.session`))
			if err != nil {
				t.Fatal(err)
			}
			s, err := a.store.Get(ctx, id)
			if err != nil {
				t.Fatalf("session after login: %v", err)
			}
			if s.Data.SessionState == "" {
				t.Fatal("no session_state kept at login")
			}
			browser.WaitCheckState(ctx, t, "unchanged")

			// The user logs out at the OP in a second tab (same browser,
			// same cookies); the first keeps the app's page open.
			tab, cancelTab := chromedp.NewContext(ctx)
			defer cancelTab()
			if tc.prepare != nil {
				tc.prepare(tab, t, other)
			}
			if times, _ := rechecks.snapshot(); len(times) != 0 {
				t.Fatalf("%d re-checks before the logout at the OP, want 0", len(times))
			}
			browser.WaitCheckState(ctx, t, "unchanged")
			// When the OP reports the logout; the re-check may come before
			// tc.logout returns.
			opLogout := make(chan time.Time, 1)
			go func() {
				if _, err := op.WaitEvent(ctx, oidcprovider.Named("end_session.success", "")); err == nil {
					opLogout <- time.Now()
				}
			}()
			tc.logout(tab, t, other)
			var loggedOut time.Time
			select {
			case loggedOut = <-opLogout:
			case <-ctx.Done():
				t.Fatalf("the OP reported no end_session.success: %v", ctx.Err())
			}

			// The app's page notices, re-checks, and reloads signed out.
			browser.WaitTruthy(ctx, t, "the app's page to reload signed out", `document.getElementById("signed-out") !== null`)
			if gone, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("slo-session-check") === null`)); err != nil || !gone {
				t.Errorf("signed-out page still has the session check (%v)", err)
			}
			times, callbacks := rechecks.snapshot()
			if len(times) != 1 {
				t.Fatalf("%d prompt=none re-checks, want 1", len(times))
			}
			// One interval to the next poll (a background tab's timers may
			// run once a second), plus the OP iframe's work and the
			// redirects; generous for loaded machines.
			d := times[0].Sub(loggedOut)
			t.Logf("re-check %v after the OP reported the logout", d)
			if d > checkInterval+3*time.Second {
				t.Errorf("re-check %v after the logout at the OP, want about one interval (%v)", d, checkInterval)
			}
			if want := []string{"", "login_required"}; fmt.Sprint(callbacks) != fmt.Sprint(want) {
				t.Errorf("callback errors %q, want %q (the login, then the re-check)", callbacks, want)
			}
			if _, err := a.store.Get(ctx, s.ID); !errors.Is(err, sessionstore.ErrNotFound) {
				t.Errorf("session still in the store after the re-check: %v", err)
			}
			// The event is emitted before the re-check answers the page.
			// v6 puts no sid in ID tokens of clients without a logout
			// channel, so the session has none.
			want := logout.Event{Channel: logout.ChannelSessionManagement, Issuer: op.Issuer(), SID: s.SID, Subject: "alice", Ended: 1}
			if evs := a.logoutEvents(logout.ChannelSessionManagement); len(evs) != 1 || evs[0] != want {
				t.Errorf("session-management events %+v, want [%+v]", evs, want)
			}
			a.mu.Lock()
			all := append([]logout.Event(nil), a.events...)
			a.mu.Unlock()
			if len(all) != 1 {
				t.Errorf("logout events %+v, want only the session-management one", all)
			}
		})
	}
}
