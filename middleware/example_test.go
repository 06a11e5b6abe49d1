package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
)

// exampleApp starts an application on mux, with an rp.Client for op,
// configures its Auth with cfg (Client and Logger filled in) and registers
// it at op. It is the setup the examples share.
func exampleApp(op *rptest.Server, mux *http.ServeMux, cfg middleware.Config) (*httptest.Server, *middleware.Auth) {
	app := httptest.NewServer(mux)
	client, err := rp.New(context.Background(), rp.Config{
		Issuer:       op.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "s3cret",
		RedirectURL:  app.URL + "/callback",
		Scopes:       []string{"openid", "profile", "email"},
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	cfg.Client, cfg.Logger = client, slog.New(slog.DiscardHandler)
	auth, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	auth.Register(mux)
	reg, _ := json.Marshal(auth.Registration())
	if err := op.RegisterJSON(reg, "s3cret"); err != nil {
		log.Fatal(err)
	}
	return app, auth
}

// get fetches url as a browser's navigation and returns the body.
func get(b *http.Client, url string) string {
	resp, err := b.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// ExampleAuth_Register mounts the login, callback, sign-out and logout
// routes on a ServeMux and protects the application's home page. The OP is
// rptest's, which signs in "alice" without asking.
func ExampleAuth_Register() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	mux := http.NewServeMux()
	app, auth := exampleApp(op, mux, middleware.Config{})
	defer app.Close()
	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", s.Subject)
	})))

	// A browser visiting the home page is sent through the OP and back.
	fmt.Println(get(rptest.NewBrowser(), app.URL+"/"))
	// Output: hello alice
}

// ExampleConfig_onLogin reads the user's claims, which come with the
// session (no store round trip): the standard ones through Profile, any
// other into the application's own struct. The OnLogin hook refuses users
// outside a group before any session exists, and keeps application data
// with the session.
func ExampleConfig_onLogin() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	op.SetUser("alice", map[string]any{"name": "Alice Liddell", "email": "alice@example.com", "groups": []string{"staff"}})

	mux := http.NewServeMux()
	app, auth := exampleApp(op, mux, middleware.Config{
		OnLogin: func(r *http.Request, s *sessionstore.Session, _ *rp.Result) error {
			var c struct {
				Groups []string `json:"groups"`
			}
			if err := s.Claims(&c); err != nil || !slices.Contains(c.Groups, "staff") {
				return middleware.ErrForbidden // a 403 page; nothing is stored
			}
			s.Data.Values = map[string]string{"team": "staff"}
			return nil
		},
	})
	defer app.Close()
	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		p := s.Profile()
		fmt.Fprintf(w, "%s <%s> (%s)", p.Name, p.Email, s.Data.Values["team"])
	})))

	fmt.Println(get(rptest.NewBrowser(), app.URL+"/"))
	// Output: Alice Liddell <alice@example.com> (staff)
}

// ExampleAuth_HTTPClient calls an API on the user's behalf with the
// session's access token, renewed with the refresh token when it is about
// to expire. Here the API is the OP's userinfo endpoint.
func ExampleAuth_HTTPClient() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	mux := http.NewServeMux()
	app, auth := exampleApp(op, mux, middleware.Config{})
	defer app.Close()
	api := auth.Client().Metadata().UserinfoEndpoint
	mux.Handle("GET /{$}", auth.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r.Context()).Get(api)
		if err != nil {
			http.Error(w, "the API failed", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var me struct{ Email string }
		json.NewDecoder(resp.Body).Decode(&me)
		fmt.Fprintf(w, "the API says %s is %s", resp.Status, me.Email)
	})))

	fmt.Println(get(rptest.NewBrowser(), app.URL+"/"))
	// Output: the API says 200 OK is alice@example.com
}

// ExampleAuth_Require demands a login of at most five minutes ago for an
// admin page (step-up): an older session is sent through the OP again with
// max_age, and the new ID token's auth_time is checked.
func ExampleAuth_Require() {
	op := rptest.NewServer(rptest.Options{})
	defer op.Close()
	mux := http.NewServeMux()
	app, auth := exampleApp(op, mux, middleware.Config{})
	defer app.Close()
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "admin page for %s", s.Subject)
	})
	mux.Handle("GET /admin/", auth.Require(middleware.MaxAge(5*time.Minute))(admin))

	fmt.Println(get(rptest.NewBrowser(), app.URL+"/admin/"))
	// Output: admin page for alice
}
