package rptest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/oidc-slo/slo/rp/rptest"
)

// Front-channel logout: the test loads the URL that the OP's logout page
// would load in an iframe. The application (startApp, in the package
// example) is registered here for front-channel logout only.
func ExampleServer_EndSession_frontChannel() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op)
	defer app.Close()
	var c rptest.Client
	if err := json.Unmarshal([]byte(get(http.DefaultClient, app.URL+"/.well-known/oidc-client")), &c); err != nil {
		log.Fatal(err)
	}
	c.ClientSecret = "s3cret"
	c.BackChannelLogoutURI = ""
	if err := op.Register(c); err != nil {
		log.Fatal(err)
	}

	browser := rptest.NewBrowser()
	fmt.Println(get(browser, app.URL+"/login"))
	logout := op.EndSession(context.Background(), "alice")
	fmt.Println(len(logout.BackChannel), "back-channel deliveries")
	for _, u := range logout.FrontChannelURLs {
		resp, err := browser.Get(u)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println("front channel:", resp.StatusCode)
	}
	fmt.Println(get(browser, app.URL+"/"))
	// Output:
	// hello Alice Liddell
	// 0 back-channel deliveries
	// front channel: 200
	// not signed in
}

// The user signs out in the application (RP-Initiated Logout). The
// browser follows the application to the OP's end-session endpoint and
// stops at the OP's front-channel logout page, which needs JavaScript;
// Logouts says what the OP did, and where its page would go next.
func ExampleServer_Logouts() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op)
	defer app.Close()

	browser := rptest.NewBrowser()
	get(browser, app.URL+"/login")
	resp, err := browser.PostForm(app.URL+"/logout", nil) // the Sign out button
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("stopped at the OP:", resp.Request.URL.Path)

	logout := op.Logouts()[0]
	fmt.Println(len(logout.SIDs), "OP session ended")
	fmt.Println("back channel:", logout.BackChannel[0].Status)
	for _, u := range logout.FrontChannelURLs {
		get(browser, u)
	}
	fmt.Println(get(browser, logout.PostLogoutRedirectURL))
	// Output:
	// stopped at the OP: /end_session
	// 1 OP session ended
	// back channel: 200
	// not signed in
}

// Negative tests of the application's back-channel endpoint: logout tokens
// it must refuse (400), and a valid one it must accept (200) even though
// no session matches.
func ExampleServer_LogoutToken() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op)
	defer app.Close()

	ctx := context.Background()
	tests := []struct {
		name string
		opts []rptest.TokenOption
	}{
		{"valid", nil},
		{"without exp", []rptest.TokenOption{rptest.WithClaim("exp", nil)}},
		{"expired", []rptest.TokenOption{rptest.WithClaim("exp", time.Now().Add(-time.Hour).Unix())}},
		{"for another app", []rptest.TokenOption{rptest.WithClaim("aud", "another-app")}},
		{"with a nonce", []rptest.TokenOption{rptest.WithClaim("nonce", "n-0S6")}},
		{"without sub and sid", []rptest.TokenOption{rptest.WithClaim("sub", nil), rptest.WithClaim("sid", nil)}},
		{"typ JWT", []rptest.TokenOption{rptest.WithType("JWT")}},
		{"signed by a foreign key", []rptest.TokenOption{rptest.WithForeignKey()}},
	}
	for _, tt := range tests {
		token := op.LogoutToken("my-app", "alice", "some-sid", tt.opts...)
		d := op.SendLogoutToken(ctx, "my-app", token)
		fmt.Println(tt.name, d.Status)
	}
	// Output:
	// valid 200
	// without exp 400
	// expired 400
	// for another app 400
	// with a nonce 400
	// without sub and sid 400
	// typ JWT 200
	// signed by a foreign key 400
}

// Signing in as another user, with claims of one's own.
func ExampleServer_SetUser() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op)
	defer app.Close()

	op.SetUser("dave", map[string]any{"name": "Dave Bowman", "email": "dave@example.com"})
	browser := rptest.NewBrowser()
	fmt.Println(get(browser, app.URL+"/account"))
	fmt.Println(get(browser, app.URL+"/"))
	// Output:
	// account of dave@example.com
	// hello Dave Bowman
}

// The browser's GETs are navigations, which RequireLogin sends to log in;
// a request that asks for JSON, as a script does, gets 401 instead. That
// tells whether the application still has a session without signing in
// again.
func ExampleNewBrowser() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op)
	defer app.Close()

	browser := rptest.NewBrowser()
	fmt.Println(get(browser, app.URL+"/account"))
	op.EndSession(context.Background(), "alice")

	req, err := http.NewRequest(http.MethodGet, app.URL+"/account", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// account of alice@example.com
	// 401
}
