package testop

import (
	"context"
	"crypto/rand"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// Logout is one logout carried out by the OP: the OP sessions it ended and
// how it told the clients that had logged in through them.
type Logout struct {
	// SIDs are the sids of the OP sessions ended, in no particular order.
	SIDs []string
	// Deliveries are the back-channel deliveries, made before the browser
	// (if any) was sent on.
	Deliveries []Delivery
	// FrontChannelURLs are the frontchannel_logout_uri values, with iss and
	// sid for clients that require them, that the OP's logout page loads
	// in iframes; for EndSession nobody loads them.
	FrontChannelURLs []string
	// PostLogoutRedirectURI is where the end-session endpoint sent the
	// browser (after the front-channel page, if there was one), with its
	// state; empty for EndSession, or when none was validly requested.
	PostLogoutRedirectURI string
}

// Logouts returns every logout that ended at least one OP session so far,
// from the end-session endpoint or EndSession, oldest first.
func (op *OP) Logouts() []Logout {
	op.mu.Lock()
	defer op.mu.Unlock()
	return slices.Clone(op.logouts)
}

// EndSession ends every OP session whose sid or subject equals sidOrSub, as
// if the user had logged out at the OP in another browser, and returns the
// back-channel deliveries made (synchronously). Front-channel logout needs
// a browser and does not happen; EndSessionLogout also returns the
// front-channel URLs.
func (op *OP) EndSession(ctx context.Context, sidOrSub string) []Delivery {
	return op.EndSessionLogout(ctx, sidOrSub).Deliveries
}

// EndSessionLogout is EndSession returning the whole Logout, front-channel
// URLs included; nobody loads them. Its zero value means no session ended.
func (op *OP) EndSessionLogout(ctx context.Context, sidOrSub string) Logout {
	op.mu.Lock()
	var ended []*opSession
	for _, s := range op.sessions {
		if s.sid == sidOrSub || s.sub == sidOrSub {
			ended = append(ended, s)
		}
	}
	op.mu.Unlock()
	lo, targets := op.endSessions(ended)
	lo.Deliveries = op.deliverBackChannel(ctx, targets)
	op.recordLogout(lo)
	return lo
}

// recordLogout keeps lo for Logouts if it ended a session.
func (op *OP) recordLogout(lo Logout) {
	if len(lo.SIDs) == 0 {
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.logouts = append(op.logouts, lo)
}

// endSessions removes the sessions, revokes their refresh tokens (except
// offline_access ones) and returns whom to notify: the Logout with the
// ended sids and the front-channel iframe URLs, and the back-channel
// targets.
func (op *OP) endSessions(ss []*opSession) (Logout, []backChannelTarget) {
	op.mu.Lock()
	defer op.mu.Unlock()
	var lo Logout
	var targets []backChannelTarget
	for _, s := range ss {
		if op.sessions[s.id] != s {
			continue // already ended
		}
		delete(op.sessions, s.id)
		lo.SIDs = append(lo.SIDs, s.sid)
		op.endedStates[s.browserState] = true
		for rt, g := range op.refresh {
			if g.sessionID == s.id && !slices.Contains(strings.Fields(g.scope), "offline_access") {
				delete(op.refresh, rt)
			}
		}
		ids := make([]string, 0, len(s.clients))
		for id := range s.clients {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			c, ok := op.clients[id]
			if !ok {
				continue
			}
			if c.BackChannelLogoutURI != "" {
				targets = append(targets, backChannelTarget{client: c, sub: s.sub, sid: s.sid})
			}
			for _, u := range c.FrontChannelLogoutURIs {
				lo.FrontChannelURLs = append(lo.FrontChannelURLs, op.frontChannelURL(c, u, s.sid))
			}
		}
	}
	return lo, targets
}

// handleEndSession is the RP-Initiated Logout 1.0 end_session_endpoint (GET
// and POST). It ends the browser's OP session, or, when the browser sent no
// session cookie (a cross-site POST drops SameSite=Lax cookies), the
// session named by the id_token_hint's sid. It notifies the clients (back
// channel first, then the front-channel page) and redirects only to a
// post_logout_redirect_uri registered exactly for the client identified by
// client_id or the hint.
func (op *OP) handleEndSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		op.page(w, http.StatusBadRequest, "Logout failed", "The logout request is malformed.")
		return
	}
	f := r.Form // ui_locales and logout_hint are accepted and ignored
	var hint map[string]any
	if raw := f.Get("id_token_hint"); raw != "" {
		claims, err := op.verifyOwn(raw)
		if err != nil {
			op.page(w, http.StatusBadRequest, "Logout failed", "The id_token_hint was not issued by this OP.")
			return
		}
		hint = claims
	}
	clientID := f.Get("client_id")
	if hint != nil {
		var aud []string
		switch a := hint["aud"].(type) {
		case string:
			aud = []string{a}
		case []any:
			for _, x := range a {
				if s, ok := x.(string); ok {
					aud = append(aud, s)
				}
			}
		}
		if clientID != "" && !slices.Contains(aud, clientID) {
			op.page(w, http.StatusBadRequest, "Logout failed", "client_id does not match the id_token_hint.")
			return
		}
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		}
	}
	var redirect string
	if plr := f.Get("post_logout_redirect_uri"); plr != "" {
		if c, ok := op.client(clientID); ok && slices.Contains(c.PostLogoutRedirectURIs, plr) {
			redirect = plr
			if st := f.Get("state"); st != "" {
				redirect = appendQuery(plr, map[string][]string{"state": {st}})
			}
		}
	}

	var ended []*opSession
	if s := op.sessionFromRequest(r); s != nil {
		ended = append(ended, s)
	} else if sid, _ := hint["sid"].(string); sid != "" {
		op.mu.Lock()
		for _, s := range op.sessions {
			if s.sid == sid && s.sub == hint["sub"] {
				ended = append(ended, s)
			}
		}
		op.mu.Unlock()
	}
	lo, targets := op.endSessions(ended)
	frames := lo.FrontChannelURLs
	// A browser that goes away must not cut the notifications short.
	lo.Deliveries = op.deliverBackChannel(context.WithoutCancel(r.Context()), targets)
	lo.PostLogoutRedirectURI = redirect
	op.recordLogout(lo)

	op.setCookie(w, SessionCookieName, "", true)
	op.setCookie(w, BrowserStateCookieName, rand.Text(), false)
	switch {
	case len(frames) > 0:
		op.frontChannelPage(w, frames, redirect)
	case redirect != "":
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, redirect, status)
	default:
		op.page(w, http.StatusOK, "Signed out", "You are signed out.")
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p id="message">{{.Message}}</p></body></html>
`))

// page renders a small HTML page.
func (op *OP) page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, struct{ Title, Message string }{title, msg}) //nolint:errcheck
}
