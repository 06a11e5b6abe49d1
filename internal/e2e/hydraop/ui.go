package hydraop

import (
	"html/template"
	"net/http"
)

// SignedOutPath is the page of the UI server that Hydra's logout ends on
// when no post_logout_redirect_uri was asked for (Hydra's
// urls.post_logout_redirect).
const SignedOutPath = "/signed-out"

// ui returns the handler of the login, consent, logout and error apps.
func (s *Server) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("GET /consent", s.consent)
	mux.HandleFunc("GET /logout", s.logout)
	mux.HandleFunc("GET /error", s.errorPage)
	mux.HandleFunc("GET "+SignedOutPath, func(w http.ResponseWriter, r *http.Request) {
		page(w, http.StatusOK, "Signed out at Hydra", "signed-out")
	})
	return mux
}

// login signs the configured subject in, or, when Hydra remembers the
// browser's session (skip), the subject Hydra names. Remember keeps the
// login session, which Hydra's logout needs: it ends only remembered
// sessions and notifies only their clients.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var lr loginRequest
	if !s.uiDo(w, "login", s.getRequest(ctx, "login", r.URL.Query().Get("login_challenge"), &lr)) {
		return
	}
	subject := s.subject
	if lr.Skip {
		subject = lr.Subject
	}
	to, err := s.accept(ctx, "login", lr.Challenge, map[string]any{
		"subject":      subject,
		"remember":     true,
		"remember_for": 0, // as long as the browser session
	})
	if !s.uiDo(w, "login", err) {
		return
	}
	s.addEvent(Event{Name: "login", ClientID: lr.Client.ID, Subject: subject, SID: lr.SessionID, Skip: lr.Skip})
	http.Redirect(w, r, to, http.StatusFound)
}

// consent grants everything the client asked for.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var cr consentRequest
	if !s.uiDo(w, "consent", s.getRequest(ctx, "consent", r.URL.Query().Get("consent_challenge"), &cr)) {
		return
	}
	to, err := s.accept(ctx, "consent", cr.Challenge, map[string]any{
		"grant_scope":                 cr.RequestedScope,
		"grant_access_token_audience": cr.RequestedAudience,
		"remember":                    true,
		"remember_for":                0,
	})
	if !s.uiDo(w, "consent", err) {
		return
	}
	s.addEvent(Event{Name: "consent", ClientID: cr.Client.ID, Subject: cr.Subject, SID: cr.LoginSessionID, Skip: cr.Skip})
	http.Redirect(w, r, to, http.StatusFound)
}

// logout confirms the logout and reports what Hydra received at its
// end-session endpoint.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var lr logoutRequest
	if !s.uiDo(w, "logout", s.getRequest(ctx, "logout", r.URL.Query().Get("logout_challenge"), &lr)) {
		return
	}
	to, err := s.accept(ctx, "logout", lr.Challenge, nil)
	if !s.uiDo(w, "logout", err) {
		return
	}
	ev := Event{Name: "logout", Subject: lr.Subject, SID: lr.SID, RequestURL: lr.RequestURL, RPInitiated: lr.RPInitiated}
	if lr.Client != nil {
		ev.ClientID = lr.Client.ID
	}
	s.addEvent(ev)
	http.Redirect(w, r, to, http.StatusFound)
}

// errorPage is Hydra's urls.error: it reports the error as an event.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msg := q.Get("error") + ": " + q.Get("error_description")
	if h := q.Get("error_hint"); h != "" {
		msg += " (" + h + ")"
	}
	s.addEvent(Event{Name: "error", Error: msg})
	page(w, http.StatusOK, "Hydra error: "+msg, "error")
}

// uiDo reports err, if any, as an error event and a 502 page, and says
// whether to go on.
func (s *Server) uiDo(w http.ResponseWriter, step string, err error) bool {
	if err == nil {
		return true
	}
	s.addEvent(Event{Name: "error", Error: step + ": " + err.Error()})
	page(w, http.StatusBadGateway, "The "+step+" app failed: "+err.Error(), "error")
	return false
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hydra test UI</title></head>
<body><p id="{{.ID}}">{{.Text}}</p></body></html>
`))

func page(w http.ResponseWriter, status int, text, id string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ ID, Text string }{id, text})
}
