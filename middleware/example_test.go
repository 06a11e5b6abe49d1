package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/oidc-slo/slo/internal/testop"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
)

// ExampleAuth_Register mounts the login, callback, sign-out,
// post-logout and metadata routes on a ServeMux and protects the
// application's home page. The OP here is slo's test OP, which logs in
// "alice" without asking.
func ExampleAuth_Register() {
	ctx := context.Background()
	op, err := testop.Start(testop.Config{}, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	op.AddClient(testop.Client{ID: "my-app", Secret: "s3cret", RedirectURIs: []string{app.URL + "/callback"}})

	client, err := rp.New(ctx, rp.Config{
		Issuer:       op.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "s3cret",
		RedirectURL:  app.URL + "/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := middleware.New(middleware.Config{Client: client, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	m.Register(mux)
	mux.Handle("GET /{$}", m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", s.Subject)
	})))

	// A browser visiting the home page is sent through the OP and back.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
	req.Header.Set("Accept", "text/html") // a navigation, as a browser sends it
	resp, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello alice
}
