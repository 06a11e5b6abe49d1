// Command demo runs slo end to end on loopback: one OpenID Provider (slo's
// test OP, rp/rptest) and two small applications that log in through it and
// share single logout. Signing out of one application ends the session at
// the OP, which then ends the other application's session through
// back-channel and front-channel logout.
//
//	go run ./examples/demo
//
// With -issuer it runs one application against any real OP instead, and
// prints the registration JSON to paste into the OP's client settings:
//
//	go run ./examples/demo -issuer https://op.example.com -client-id demo \
//	    -client-secret s3cret -addr 127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/rp/rptest"
	"github.com/oidc-slo/slo/sessionstore"
)

func main() {
	issuer := flag.String("issuer", "", "run one app against this OP instead of the built-in test OP")
	clientID := flag.String("client-id", "slo-demo", "client_id registered at the OP (with -issuer)")
	clientSecret := flag.String("client-secret", "", "client secret (with -issuer; empty for a public client)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address of the app (with -issuer)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *issuer != "" {
		err = runOne(ctx, *issuer, *clientID, *clientSecret, *addr)
	} else {
		err = runDemo(ctx)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// app is one demo application.
type app struct {
	name string
	ln   net.Listener
	base string
	auth *middleware.Auth
	api  string // a protected API to call with the session's access token
}

// runDemo starts the test OP and two apps, all on loopback ports. The OP
// is on localhost and the apps on 127.0.0.1: different sites, as an OP and
// its applications usually are.
func runDemo(ctx context.Context) error {
	op, apps, err := startDemo(ctx)
	if err != nil {
		return err
	}
	defer op.Close()
	fmt.Printf("slo demo\n  OP:    %s\n", op.Issuer())
	for _, a := range apps {
		fmt.Printf("  app %s: %s/\n", a.name, a.base)
	}
	fmt.Println("Open both apps, sign in to each (the OP logs in \"alice\" automatically),")
	fmt.Println("then sign out of one: the other one's session ends too. Ctrl-C stops.")
	return serve(ctx, apps)
}

// startDemo starts the test OP and makes the two apps, registered at it
// and listening, but not serving yet.
func startDemo(ctx context.Context) (*rptest.Server, []*app, error) {
	op := rptest.NewServer(rptest.Options{Host: "localhost"})
	var apps []*app
	fail := func(err error) (*rptest.Server, []*app, error) {
		for _, a := range apps {
			a.ln.Close()
		}
		op.Close()
		return nil, nil, err
	}
	for _, name := range []string{"A", "B"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		a := &app{name: name, ln: ln, base: "http://" + ln.Addr().String()}
		apps = append(apps, a)
		clientID := "demo-app-" + strings.ToLower(name)
		secret := "secret-" + strings.ToLower(name)
		if a.auth, err = newAuth(ctx, op.Issuer(), clientID, secret, a.base, "slo_"+strings.ToLower(name)); err != nil {
			return fail(err)
		}
		// Register the app at the OP as an operator would: with the
		// registration document it serves at /.well-known/oidc-client.
		reg, err := json.Marshal(a.auth.Registration())
		if err != nil {
			return fail(err)
		}
		if err := op.RegisterJSON(reg, secret); err != nil {
			return fail(err)
		}
		// The OP's userinfo endpoint stands for an API that checks the
		// access token.
		a.api = userinfoEndpoint(a.auth)
	}
	return op, apps, nil
}

// runOne runs one app against a real OP.
func runOne(ctx context.Context, issuer, clientID, secret, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a := &app{name: clientID, ln: ln, base: "http://" + ln.Addr().String()}
	if a.auth, err = newAuth(ctx, issuer, clientID, secret, a.base, "slo"); err != nil {
		return err
	}
	a.api = userinfoEndpoint(a.auth)
	reg, _ := json.MarshalIndent(a.auth.Registration(), "", "  ")
	fmt.Printf("Register this client at %s:\n%s\n\nThen open %s/\n", issuer, reg, a.base)
	return serve(ctx, []*app{a})
}

func newAuth(ctx context.Context, issuer, clientID, secret, base, cookie string) (*middleware.Auth, error) {
	client, err := rp.New(ctx, rp.Config{
		Issuer:                issuer,
		ClientID:              clientID,
		ClientSecret:          secret,
		RedirectURL:           base + "/callback",
		PostLogoutRedirectURL: base + "/logged-out",
		Scopes:                []string{"openid", "profile", "email"},
	})
	if err != nil {
		return nil, err
	}
	logger := slog.Default().With("app", clientID)
	return middleware.New(middleware.Config{
		Client:      client,
		CookieName:  cookie,
		Logger:      logger,
		LoginParams: true, // /login?prompt=login
		OnLogin: func(r *http.Request, s *sessionstore.Session, _ *rp.Result) error {
			logger.InfoContext(r.Context(), "login", "name", s.Profile().Name, "email", s.Profile().Email)
			return nil
		},
		OnLogout: func(ctx context.Context, e logout.Event) {
			logger.InfoContext(ctx, "logout", "event", e)
		},
	})
}

func serve(ctx context.Context, apps []*app) error {
	errc := make(chan error, len(apps))
	var servers []*http.Server
	for _, a := range apps {
		mux := http.NewServeMux()
		a.auth.Register(mux)
		mux.Handle("GET /{$}", a.auth.LoadSession(http.HandlerFunc(a.home)))
		mux.Handle("GET /api", a.auth.RequireLogin(http.HandlerFunc(a.callAPI)))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(a.ln) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdownCtx)
	}
	return nil
}

var homeTmpl = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>slo demo app {{.Name}}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>App {{.Name}}</h1>
{{if .Session}}
<p id="status">Signed in as <b id="name">{{.Profile.Name}}</b> &lt;<span id="email">{{.Profile.Email}}</span>&gt;</p>
<table>
<tr><td>subject</td><td id="sub">{{.Session.Subject}}</td></tr>
<tr><td>issuer</td><td>{{.Session.Issuer}}</td></tr>
<tr><td>sid</td><td id="sid">{{.Session.SID}}</td></tr>
<tr><td>signed in at the OP</td><td>{{.Profile.AuthTime.Format "15:04:05"}}</td></tr>
<tr><td>session expires</td><td>{{.Session.ExpiresAt.Format "15:04:05"}}</td></tr>
</table>
<p><a id="api" href="/api">Call the API with the access token</a> ·
<a id="relogin" href="/login?prompt=login">Sign in again (prompt=login)</a></p>
<form method="post" action="/logout"><button id="signout" type="submit">Sign out</button></form>
{{.SessionCheck}}
{{else}}
<p id="status">Not signed in.</p>
<p><a id="login" href="/login">Sign in</a></p>
{{end}}
</body></html>
`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s, ok := middleware.SessionFromContext(r.Context())
	data := struct {
		Name         string
		Session      *sessionstore.Session
		Profile      sessionstore.Profile
		SessionCheck template.HTML
	}{Name: a.name}
	if ok {
		data.Session, data.Profile = s, s.Profile()
		data.SessionCheck = a.auth.SessionCheckSnippet(r.Context())
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	homeTmpl.Execute(w, data)
}

// callAPI calls the protected API on the user's behalf with the session's
// access token (renewed when it is about to expire) and shows its answer.
func (a *app) callAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if a.api == "" {
		http.Error(w, "the OP has no userinfo endpoint to call", http.StatusNotFound)
		return
	}
	resp, err := a.auth.HTTPClient(r.Context()).Get(a.api)
	if err != nil {
		http.Error(w, "calling the API failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	fmt.Fprintf(w, "GET %s with the session's access token: %s\n\n", a.api, resp.Status)
	io.Copy(w, io.LimitReader(resp.Body, 64<<10))
}

// userinfoEndpoint is the OP's userinfo endpoint, the API the demo calls.
func userinfoEndpoint(a *middleware.Auth) string { return a.Client().Metadata().UserinfoEndpoint }
