package testop

import (
	"crypto/rand"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authCode is an issued, not yet redeemed authorization code.
type authCode struct {
	clientID    string
	redirectURI string
	nonce       string
	challenge   string
	scope       string
	sub         string
	sid         string
	sessionID   string
	authTime    time.Time
	acr         string
	expires     time.Time
}

// handleAuthorize is the authorization endpoint (Core §3.1.2) for the code
// flow with PKCE S256. A browser without an OP session is logged in at once
// as the current user (SetUser) or login_hint; prompt=none never logs in.
func (op *OP) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid request", http.StatusBadRequest)
		return
	}
	q := r.Form
	c, ok := op.client(q.Get("client_id"))
	if !ok {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		// Never redirect to an unregistered URI (Core §3.1.2.1).
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}

	s := op.sessionFromRequest(r)
	bs := op.browserState(w, r, s)
	reply := func(params url.Values) {
		if st := q.Get("state"); st != "" {
			params.Set("state", st)
		}
		if !op.cfg.NoIssParameter {
			params.Set("iss", op.cfg.Issuer)
		}
		if !op.cfg.NoCheckSession {
			params.Set("session_state", SessionState(c.ID, redirectURI, bs, ""))
		}
		w.Header().Set("Cache-Control", "no-store")
		if q.Get("response_mode") == "form_post" {
			writeFormPost(w, redirectURI, params)
			return
		}
		http.Redirect(w, r, appendQuery(redirectURI, params), http.StatusFound)
	}
	fail := func(code, desc string) {
		reply(url.Values{"error": {code}, "error_description": {desc}})
	}

	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "scope must contain openid")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE code_challenge is required")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query" && q.Get("response_mode") != "form_post":
		fail("invalid_request", "only response_mode query and form_post are supported")
		return
	}
	prompt := strings.Fields(q.Get("prompt"))
	promptNone := slices.Contains(prompt, "none")
	if promptNone && len(prompt) > 1 {
		fail("invalid_request", "prompt=none cannot be combined")
		return
	}
	var hintSub string
	if h := q.Get("id_token_hint"); h != "" {
		claims, err := op.verifyOwn(h)
		if err != nil {
			fail("invalid_request", "id_token_hint was not issued by this OP")
			return
		}
		hintSub, _ = claims["sub"].(string)
	}

	now := op.cfg.Now()
	op.mu.Lock()
	if s != nil && op.sessions[s.id] != s {
		s = nil // ended meanwhile
	}
	switch {
	case s == nil && promptNone:
		op.mu.Unlock()
		fail("login_required", "no session at the OP")
		return
	case s != nil && promptNone && hintSub != "" && hintSub != s.sub:
		op.mu.Unlock()
		fail("login_required", "the OP session belongs to another user")
		return
	case s == nil:
		sub := q.Get("login_hint")
		if sub == "" {
			sub = op.user
		}
		s = op.newSessionLocked(sub)
	case slices.Contains(prompt, "login"):
		s.authTime = now
	case q.Has("max_age"):
		// Re-authenticate (without asking) when the last authentication
		// is older than max_age (Core §3.1.2.1).
		if n, err := strconv.Atoi(q.Get("max_age")); err == nil && now.Sub(s.authTime) > time.Duration(n)*time.Second {
			s.authTime = now
		}
	}
	// The first acr value asked for is the one satisfied.
	acr := ""
	if v := strings.Fields(q.Get("acr_values")); len(v) > 0 {
		acr = v[0]
	}
	s.clients[c.ID] = true
	code := rand.Text()
	op.codes[code] = &authCode{
		clientID: c.ID, redirectURI: redirectURI, nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"),
		sub: s.sub, sid: s.sid, sessionID: s.id, authTime: s.authTime, acr: acr,
		expires: now.Add(time.Minute),
	}
	sessionID, state := s.id, s.browserState
	op.mu.Unlock()

	op.setCookie(w, SessionCookieName, sessionID, true)
	if state != bs {
		bs = state
		op.setCookie(w, BrowserStateCookieName, bs, false)
	}
	reply(url.Values{"code": {code}})
}

// formPostPage is the page of a form_post response (OAuth 2.0 Form Post
// Response Mode): a form that submits itself to the redirect URI.
var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head>
<body><form method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{.K}}" value="{{.V}}">{{end}}
<noscript><button type="submit">Continue</button></noscript></form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script></body></html>
`))

// writeFormPost answers with the form_post page for params.
func writeFormPost(w http.ResponseWriter, redirectURI string, params url.Values) {
	type field struct{ K, V string }
	data := struct {
		Action, Nonce string
		Fields        []field
	}{Action: redirectURI, Nonce: rand.Text()}
	keys := slices.Sorted(maps.Keys(params))
	for _, k := range keys {
		for _, v := range params[k] {
			data.Fields = append(data.Fields, field{k, v})
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+data.Nonce+"'; form-action "+formAction(redirectURI))
	formPostPage.Execute(w, data) //nolint:errcheck // the browser went away
}

// formAction is the CSP source of the redirect URI's origin.
func formAction(redirectURI string) string {
	if o := Origin(redirectURI); o != "" {
		return o
	}
	return "'none'"
}

// appendQuery adds params to rawURL, keeping the URL byte for byte and any
// query it already has (Front-Channel Logout §2, RP-Initiated Logout §3).
// Values are percent-encoded with %20 for space, which every decoder reads
// the same way (a '+' would be a space only to form decoders).
func appendQuery(rawURL string, params url.Values) string {
	base, frag, hasFrag := strings.Cut(rawURL, "#")
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(base)
	sep := "?"
	if _, query, ok := strings.Cut(base, "?"); ok {
		sep = "&"
		if query == "" || strings.HasSuffix(query, "&") {
			sep = ""
		}
	}
	for _, k := range keys {
		for _, v := range params[k] {
			b.WriteString(sep + queryEscape(k) + "=" + queryEscape(v))
			sep = "&"
		}
	}
	if hasFrag {
		b.WriteString("#" + frag)
	}
	return b.String()
}

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
