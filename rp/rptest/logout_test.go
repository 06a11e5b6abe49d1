package rptest_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/rp/rptest"
)

// TestEndSession: two applications signed in through one browser (single
// sign-on) are told on every channel they registered, and EndSession
// returns what each answered.
func TestEndSession(t *testing.T) {
	op := newServer(t, rptest.Options{Logger: slog.New(slog.DiscardHandler)}) // b's refusal is no news
	accepts, refuses := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusBadRequest)
	a := rptest.Client{ClientID: "a", RedirectURIs: []string{"http://a.example/cb"},
		FrontChannelLogoutURI: "http://a.example/fc?tenant=1", FrontChannelLogoutSessionRequired: true,
		BackChannelLogoutURI: accepts.srv.URL + "/bc"}
	b := rptest.Client{ClientID: "b", RedirectURIs: []string{"http://b.example/cb"},
		FrontChannelLogoutURI: "http://b.example/fc", BackChannelLogoutURI: refuses.srv.URL + "/bc"}
	idle := rptest.Client{ClientID: "idle", RedirectURIs: []string{"http://idle.example/cb"},
		FrontChannelLogoutURI: "http://idle.example/fc", BackChannelLogoutURI: accepts.srv.URL + "/idle"}
	for _, c := range []rptest.Client{a, b, idle} {
		if err := op.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	browser := rptest.NewBrowser()
	claims, _ := flow{op: op, client: a, browser: browser}.idToken(t)
	flow{op: op, client: b, browser: browser}.idToken(t)
	sid := claims["sid"].(string)

	lo := op.EndSession(t.Context(), "alice")
	if !slices.Equal(lo.SIDs, []string{sid}) {
		t.Errorf("SIDs %v, want [%s]", lo.SIDs, sid)
	}
	if len(lo.BackChannel) != 2 {
		t.Fatalf("BackChannel %+v, want a and b (idle never signed in)", lo.BackChannel)
	}
	for i, want := range []struct {
		id, url string
		status  int
	}{{"a", accepts.srv.URL + "/bc", http.StatusOK}, {"b", refuses.srv.URL + "/bc", http.StatusBadRequest}} {
		d := lo.BackChannel[i]
		if d.ClientID != want.id || d.URL != want.url || d.Status != want.status || d.Err != nil {
			t.Errorf("delivery %d: %+v, want %s %s %d", i, d, want.id, want.url, want.status)
		}
		lt, h := verify(t, op, d.LogoutToken, "")
		if lt["aud"] != want.id || lt["sub"] != "alice" || lt["sid"] != sid || h.ExtraHeaders["typ"] != "logout+jwt" {
			t.Errorf("delivery %d: logout token %v, typ %v", i, lt, h.ExtraHeaders["typ"])
		}
	}
	if got := <-accepts.tokens; got != lo.BackChannel[0].LogoutToken {
		t.Errorf("a received %q, the delivery says %q", got, lo.BackChannel[0].LogoutToken)
	}
	<-refuses.tokens
	wantFC := []string{
		"http://a.example/fc?tenant=1&iss=" + url.QueryEscape(op.Issuer()) + "&sid=" + url.QueryEscape(sid),
		"http://b.example/fc", // no session required: no iss and sid
	}
	if !slices.Equal(lo.FrontChannelURLs, wantFC) {
		t.Errorf("FrontChannelURLs\n got %q\nwant %q", lo.FrontChannelURLs, wantFC)
	}
	if lo.PostLogoutRedirectURL != "" {
		t.Errorf("PostLogoutRedirectURL %q for EndSession", lo.PostLogoutRedirectURL)
	}
	if sids := op.SIDs("alice"); len(sids) != 0 {
		t.Errorf("OP sessions left: %v", sids)
	}
	if logouts := op.Logouts(); len(logouts) != 1 || !reflect.DeepEqual(logouts[0], lo) {
		t.Errorf("Logouts %+v, want [%+v]", logouts, lo)
	}

	// Nothing left to end: the zero Logout, nothing recorded.
	if again := op.EndSession(t.Context(), "alice"); !reflect.DeepEqual(again, rptest.Logout{}) {
		t.Errorf("second EndSession %+v", again)
	}
	if n := len(op.Logouts()); n != 1 {
		t.Errorf("%d logouts recorded", n)
	}
}

// TestEndSessionBySID ends one of two OP sessions of a user.
func TestEndSessionBySID(t *testing.T) {
	op := newServer(t, rptest.Options{})
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	sids := op.SIDs("alice")
	if len(sids) != 2 {
		t.Fatalf("SIDs %v", sids)
	}
	if lo := op.EndSession(t.Context(), sids[1]); !slices.Equal(lo.SIDs, sids[1:]) {
		t.Errorf("EndSession(sid) ended %v, want %v", lo.SIDs, sids[1:])
	}
	if left := op.SIDs("alice"); !slices.Equal(left, sids[:1]) {
		t.Errorf("left %v, want %v", left, sids[:1])
	}
	// Ending by subject ends the rest, reported in sid order.
	for range 3 {
		flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	}
	all := op.SIDs("alice")
	if lo := op.EndSession(t.Context(), "alice"); len(lo.SIDs) != 4 || !slices.Equal(lo.SIDs, all) {
		t.Errorf("EndSession(sub) ended %v, want %v", lo.SIDs, all)
	}
}

// TestEndSessionUnreachable: a back-channel URI that does not answer is
// reported with an error and no status.
func TestEndSessionUnreachable(t *testing.T) {
	op := newServer(t, rptest.Options{Logger: slog.New(slog.DiscardHandler)})
	gone := newReceiver(t, http.StatusOK)
	gone.srv.Close()
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}, BackChannelLogoutURI: gone.srv.URL}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
	lo := op.EndSession(t.Context(), "alice")
	if len(lo.BackChannel) != 1 || lo.BackChannel[0].Status != 0 || lo.BackChannel[0].Err == nil {
		t.Errorf("BackChannel %+v, want one failed delivery", lo.BackChannel)
	}
}

// TestLogoutsFromEndSessionEndpoint: a sign-out in the browser at the OP's
// end-session endpoint (as an application's sign-out sends it) is recorded
// with its post-logout redirect.
func TestLogoutsFromEndSessionEndpoint(t *testing.T) {
	op := newServer(t, rptest.Options{})
	rcv := newReceiver(t, http.StatusOK)
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"},
		PostLogoutRedirectURIs: []string{"http://app.example/bye"},
		FrontChannelLogoutURI:  "http://app.example/fc", FrontChannelLogoutSessionRequired: true,
		BackChannelLogoutURI: rcv.srv.URL}
	if err := op.Register(c); err != nil {
		t.Fatal(err)
	}
	browser := rptest.NewBrowser()
	claims, _ := flow{op: op, client: c, browser: browser}.idToken(t)
	q := url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"http://app.example/bye"}, "state": {"s 1"}}
	resp, err := browser.Get(discovery(t, op)["end_session_endpoint"].(string) + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("end session: %s %s, want the front-channel page", resp.Status, resp.Header.Get("Content-Type"))
	}
	<-rcv.tokens
	logouts := op.Logouts()
	if len(logouts) != 1 {
		t.Fatalf("Logouts %+v", logouts)
	}
	lo := logouts[0]
	if !slices.Equal(lo.SIDs, []string{claims["sid"].(string)}) || len(lo.BackChannel) != 1 || lo.BackChannel[0].Status != http.StatusOK ||
		len(lo.FrontChannelURLs) != 1 || !strings.HasPrefix(lo.FrontChannelURLs[0], "http://app.example/fc?iss=") ||
		lo.PostLogoutRedirectURL != "http://app.example/bye?state=s%201" {
		t.Errorf("logout %+v", lo)
	}
}

func TestSendLogoutToken(t *testing.T) {
	op := newServer(t, rptest.Options{})
	rcv := newReceiver(t, http.StatusBadRequest)
	gone := newReceiver(t, http.StatusOK)
	gone.srv.Close()
	for _, c := range []rptest.Client{
		{ClientID: "app", RedirectURIs: []string{"http://app.example/cb"}, BackChannelLogoutURI: rcv.srv.URL + "/bc?x=1"},
		{ClientID: "front-only", RedirectURIs: []string{"http://f.example/cb"}, FrontChannelLogoutURI: "http://f.example/fc"},
		{ClientID: "gone", RedirectURIs: []string{"http://g.example/cb"}, BackChannelLogoutURI: gone.srv.URL},
	} {
		if err := op.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	tok := op.LogoutToken("app", "alice", "")
	d := op.SendLogoutToken(t.Context(), "app", tok)
	if d.ClientID != "app" || d.URL != rcv.srv.URL+"/bc?x=1" || d.Status != http.StatusBadRequest || d.Err != nil || d.LogoutToken != tok {
		t.Errorf("delivery %+v", d)
	}
	if got := <-rcv.tokens; got != tok {
		t.Errorf("received %q, sent %q", got, tok)
	}
	for _, tt := range []struct{ client, want string }{
		{"nobody", `no client "nobody"`},
		{"front-only", "no backchannel_logout_uri"},
		{"gone", "back-channel POST"},
	} {
		d := op.SendLogoutToken(t.Context(), tt.client, tok)
		if d.Status != 0 || d.Err == nil || !strings.Contains(d.Err.Error(), tt.want) || !strings.HasPrefix(d.Err.Error(), "rptest: ") {
			t.Errorf("%s: delivery %+v, want an error about %s", tt.client, d, tt.want)
		}
	}
}

// TestHTTPClient: back-channel POSTs to an application served over TLS by
// httptest need Options.HTTPClient set to that server's client.
func TestHTTPClient(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshakes
	app.StartTLS()
	t.Cleanup(app.Close)
	c := rptest.Client{ClientID: "app", RedirectURIs: []string{app.URL + "/cb"}, BackChannelLogoutURI: app.URL + "/bc"}
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			opts := rptest.Options{Logger: slog.New(slog.DiscardHandler)}
			if trusted {
				opts.HTTPClient = app.Client()
			}
			op := newServer(t, opts)
			if err := op.Register(c); err != nil {
				t.Fatal(err)
			}
			flow{op: op, client: c, browser: rptest.NewBrowser()}.idToken(t)
			lo := op.EndSession(t.Context(), "alice")
			sent := op.SendLogoutToken(t.Context(), "app", op.LogoutToken("app", "alice", ""))
			for _, d := range []rptest.Delivery{lo.BackChannel[0], sent} {
				if ok := d.Status == http.StatusOK && d.Err == nil; ok != trusted {
					t.Errorf("delivery %+v with the application's client = %v", d, trusted)
				}
			}
		})
	}
}
