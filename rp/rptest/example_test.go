package rptest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
)

// A test that the application logs the user out when the OP says so.
func Example() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	app := startApp(op) // the application under test, registered at op
	defer app.Close()

	browser := rptest.NewBrowser()
	fmt.Println(get(browser, app.URL+"/login")) // the OP signs alice in without asking

	logout := op.EndSession(context.Background(), "alice") // alice logs out at the OP
	fmt.Println(logout.BackChannel[0].Status)              // the application's answer
	fmt.Println(get(browser, app.URL+"/"))
	// Output:
	// hello Alice Liddell
	// 200
	// not signed in
}

// startApp starts the application under test, which uses slo, and
// registers it at op as "my-app". Its home page greets the signed-in user;
// /account requires a login.
func startApp(op *rptest.Server) *httptest.Server {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	client, err := rp.New(ctx, rp.Config{
		Issuer:                op.Issuer(),
		ClientID:              "my-app",
		ClientSecret:          "s3cret",
		RedirectURL:           app.URL + "/callback",
		PostLogoutRedirectURL: app.URL + "/logged-out",
		Scopes:                []string{"openid", "profile", "email"},
		Logger:                quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Client: client, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	auth.Register(mux)
	mux.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.SessionFromContext(r.Context()); ok {
			fmt.Fprintf(w, "hello %s", s.Profile().Name)
			return
		}
		fmt.Fprint(w, "not signed in")
	})))
	mux.Handle("GET /account", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "account of %s", s.Profile().Email)
	})))

	reg, err := json.Marshal(auth.Registration())
	if err != nil {
		log.Fatal(err)
	}
	if err := op.RegisterJSON(reg, "s3cret"); err != nil {
		log.Fatal(err)
	}
	return app
}

// get returns the page at url, as the browser ends up on it.
func get(browser *http.Client, url string) string {
	resp, err := browser.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(body)
}
