package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore"
)

// appConfig configures one replica of the demo application.
type appConfig struct {
	// Name identifies the replica on its pages and in the X-Replica
	// response header.
	Name string
	// Issuer, ClientID and ClientSecret identify the OP and this client.
	// Every replica is the same client.
	Issuer, ClientID, ClientSecret string
	// PublicURL is the origin the OP and browsers use: the load
	// balancer's. The redirect URI, post-logout redirect URI and
	// back-channel logout URI are derived from it, so they are the same
	// for every replica, as the OP registration requires.
	PublicURL string
	// Key is the middleware Key, shared by every replica: a login started
	// on one replica may come back to another.
	Key []byte
	// Store and SingleUse are shared by every replica.
	Store     sessionstore.Store
	SingleUse sessionstore.SingleUse
	// Logger receives the middleware's logs.
	Logger *slog.Logger
	// EndOPSessionPath, if set, adds a form to the page that posts the
	// session's sid there (the -demo mode ends the OP session with it).
	EndOPSessionPath string
}

// checkPublicURL checks that raw is an http(s) origin without path, query
// or fragment, and returns it without a trailing slash.
func checkPublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("cluster: public URL %q must be an http(s) origin such as https://app.example.com", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// replica is one instance of the demo application: the slo middleware
// routes plus a page showing which replica answered and who is logged in.
type replica struct {
	name string
	h    http.Handler
	demo string
}

// newReplica builds a replica. It fetches the OP's discovery document.
func newReplica(ctx context.Context, cfg appConfig) (*replica, error) {
	public, err := checkPublicURL(cfg.PublicURL)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Name == "" {
		errs = append(errs, errors.New("cluster: replica name is required"))
	}
	if cfg.Store == nil || cfg.SingleUse == nil {
		errs = append(errs, errors.New("cluster: a shared Store and SingleUse are required"))
	}
	if len(cfg.Key) < 32 {
		errs = append(errs, errors.New("cluster: the shared Key must have at least 32 bytes"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	client, err := rp.New(ctx, rp.Config{
		Issuer:                cfg.Issuer,
		ClientID:              cfg.ClientID,
		ClientSecret:          cfg.ClientSecret,
		RedirectURL:           public + "/callback",
		PostLogoutRedirectURL: public + "/logged-out",
		Scopes:                []string{"openid", "profile"},
		Logger:                logger,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	auth, err := middleware.New(middleware.Config{
		Client:    client,
		Store:     cfg.Store,
		SingleUse: cfg.SingleUse,
		Key:       cfg.Key,
		Logger:    logger,
		OnLogout: func(ctx context.Context, e logout.Event) {
			logger.InfoContext(ctx, "cluster: logout", slog.String("channel", string(e.Channel)),
				slog.String("sid", e.SID), slog.String("sub", e.Subject), slog.Int("ended", e.Ended))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	r := &replica{name: cfg.Name, demo: cfg.EndOPSessionPath}
	mux := http.NewServeMux()
	auth.Register(mux)
	mux.Handle("GET /{$}", auth.LoadSession(http.HandlerFunc(r.page)))
	mux.Handle("GET /private", auth.RequireLogin(http.HandlerFunc(r.page)))
	mux.Handle("GET /whoami", auth.LoadSession(http.HandlerFunc(r.whoami)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "ok %s\n", r.name)
	})
	r.h = mux
	return r, nil
}

// ServeHTTP serves the replica, naming it in the X-Replica header.
func (r *replica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("X-Replica", r.name)
	r.h.ServeHTTP(w, req)
}

// status is what /whoami reports.
type status struct {
	Replica  string `json:"replica"`
	LoggedIn bool   `json:"logged_in"`
	Subject  string `json:"sub,omitempty"`
	SID      string `json:"sid,omitempty"`
}

func (r *replica) status(req *http.Request) status {
	st := status{Replica: r.name}
	if s, ok := middleware.SessionFromContext(req.Context()); ok {
		st.LoggedIn, st.Subject, st.SID = true, s.Subject, s.SID
	}
	return st
}

func (r *replica) whoami(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(r.status(req))
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>slo cluster demo</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto} .r{font-size:2em;font-weight:bold}</style></head>
<body>
<p>Answered by replica <span class="r">{{.Replica}}</span> (reload to hit another one).</p>
{{if .LoggedIn}}
<p>Logged in as <b>{{.Subject}}</b>, OP session <code>{{.SID}}</code>.</p>
<form method="post" action="/logout"><button>Sign out</button></form>
{{if .Demo}}<form method="post" action="{{.Demo}}"><input type="hidden" name="sid" value="{{.SID}}">
<button>End the session at the OP (back-channel logout to one replica)</button></form>{{end}}
{{else}}
<p>Not logged in. <a href="/login">Log in</a> or open the <a href="/private">private page</a>.</p>
{{end}}
</body></html>
`))

func (r *replica) page(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	data := struct {
		status
		Demo string
	}{r.status(req), r.demo}
	var b strings.Builder
	if err := pageTmpl.Execute(&b, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, b.String())
}
