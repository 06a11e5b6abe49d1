package interop_test

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"testing"

	"github.com/oidc-slo/slo/internal/testlog"
	"github.com/oidc-slo/slo/logout"
	"github.com/oidc-slo/slo/middleware"
	"github.com/oidc-slo/slo/rp"
	"github.com/oidc-slo/slo/sessionstore/memstore"
)

// This file is the only one of the Hydra tests that uses package
// middleware, whose Config is being redesigned: the one place to adapt.

// sloSettings are the slo settings a Hydra test varies: exactly what the
// README tells users to set for Hydra.
type sloSettings struct {
	// allowMissingExp is middleware.Config.Verifier.AllowMissingExp:
	// Hydra v2.3.0's logout tokens have no exp (ory/hydra#4035).
	allowMissingExp bool
}

// newSLO builds the slo application a against the OP issuer with settings
// s (rp.New, middleware.New, Register) and returns its handler: slo's
// routes, plus
//
//	GET /private  RequireLogin: #signed-in, with the session's store id and
//	              sid in data-session and data-sid, and a sign-out button
//	              (#sign-out, return_to /after)
//	GET /after    #after: "signed in" or "signed out"
func newSLO(t *testing.T, a *hydraApp, issuer string, s sloSettings) http.Handler {
	t.Helper()
	logger := testlog.Logger(t, slog.LevelInfo).With("app", a.name)
	client, err := rp.New(t.Context(), rp.Config{
		Issuer:                issuer,
		ClientID:              a.name,
		ClientSecret:          a.secret(),
		RedirectURL:           a.url("/callback"),
		PostLogoutRedirectURL: a.url("/logged-out"),
		Logger:                logger,
	})
	if err != nil {
		t.Fatalf("%s: rp.New: %v", a.name, err)
	}
	a.client = client
	a.store = memstore.New(memstore.Config{})
	m, err := middleware.New(middleware.Config{
		Client:     client,
		Store:      a.store,
		CookieName: a.cookieName(), // cookies are per host, and the apps share 127.0.0.1
		OnLogout: func(_ context.Context, ev logout.Event) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.events = append(a.events, ev)
		},
		Logger:   logger,
		Verifier: logout.VerifierConfig{AllowMissingExp: s.allowMissingExp},
		// Every login also reads the OP's UserInfo endpoint (its sub
		// checked against the ID token's): a login fails if that fails.
		Userinfo: true,
	})
	if err != nil {
		t.Fatalf("%s: middleware.New: %v", a.name, err)
	}
	mux := http.NewServeMux()
	m.Register(mux)
	mux.Handle("GET /private", m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.SessionFromContext(r.Context())
		writePage(w, privateTmpl, struct{ Name, ID, SID, Subject string }{a.name, sess.ID, sess.SID, sess.Subject})
	})))
	mux.Handle("GET /after", m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := middleware.SessionFromContext(r.Context())
		writePage(w, afterTmpl, struct {
			Name     string
			SignedIn bool
		}{a.name, ok})
	})))
	return mux
}

// storeID is the store id of the session of a session cookie value.
func storeID(cookie string) string { return middleware.SessionID(cookie) }

var (
	privateTmpl = template.Must(template.New("private").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head><body>
<p id="signed-in" data-session="{{.ID}}" data-sid="{{.SID}}">signed in as {{.Subject}}</p>
<form method="post" action="/logout"><input type="hidden" name="return_to" value="/after"><button id="sign-out">Sign out</button></form>
</body></html>
`))
	afterTmpl = template.Must(template.New("after").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head><body>
<p id="after">{{if .SignedIn}}signed in{{else}}signed out{{end}}</p>
</body></html>
`))
)

func writePage(w http.ResponseWriter, tmpl *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = tmpl.Execute(w, data)
}
