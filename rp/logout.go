package rp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// LogoutParams are the parameters of an RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0 §2). Empty fields are omitted.
type LogoutParams struct {
	// IDTokenHint is the raw ID token of the session being ended.
	IDTokenHint string
	// LogoutHint is an opaque hint for the OP (logout_hint).
	LogoutHint string
	// PostLogoutRedirectURL, if set, must equal Config.PostLogoutRedirectURL;
	// when empty, Config.PostLogoutRedirectURL is sent (if configured). It is
	// never taken from request input.
	PostLogoutRedirectURL string
	// State is echoed back by the OP to the post-logout redirect URL. Bind
	// it to the browser and check it there.
	State string
	// UILocales is a space-separated list of BCP47 language tags.
	UILocales string
}

// EndSessionURL returns the URL to redirect the browser to for
// RP-initiated logout (GET): the OP's end_session_endpoint (or
// Config.EndSessionURL) exactly as given, its own query included byte for
// byte whether or not it parses as a form, with id_token_hint,
// logout_hint, client_id (always sent: it names the same client as the
// hint's aud, RPI §2), post_logout_redirect_uri, state and ui_locales
// appended. New refuses an endpoint whose query sets one of these itself,
// so the request never carries two values of a logout parameter. It
// returns ErrNoEndSessionEndpoint when the OP has no end-session endpoint;
// the caller then logs out locally only. It does no I/O: before discovery
// has succeeded (Config.DeferDiscovery) it returns an *UnavailableError.
func (c *Client) EndSessionURL(p LogoutParams) (string, error) {
	endpoint, params, err := c.endSession(p)
	if err != nil {
		return "", err
	}
	return appendQuery(endpoint, params), nil
}

// logoutParams are the parameters endSession sets; an end-session endpoint
// must not set them in its own query.
var logoutParams = []string{"id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"}

// appendQuery appends params to endpoint, an absolute URL without
// fragment, keeping every byte of endpoint (RP-Initiated Logout 1.0 §2.1:
// the endpoint "MAY contain … query parameter components").
func appendQuery(endpoint string, params url.Values) string {
	switch {
	case !strings.Contains(endpoint, "?"):
		endpoint += "?"
	case !strings.HasSuffix(endpoint, "?") && !strings.HasSuffix(endpoint, "&"):
		endpoint += "&"
	}
	return endpoint + params.Encode()
}

// checkEndSessionQuery refuses an end-session endpoint whose query names a
// logout parameter. The query is split on both "&" and ";" and each name
// unescaped where it can be, so that no reading of it by an OP (some
// servers split on ";", url.ParseQuery refuses it) finds one.
func checkEndSessionQuery(name, endpoint string) error {
	_, query, ok := strings.Cut(endpoint, "?")
	if !ok {
		return nil
	}
	for pair := range strings.FieldsFuncSeq(query, func(r rune) bool { return r == '&' || r == ';' }) {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if slices.Contains(logoutParams, key) {
			return fmt.Errorf("rp: %s %q sets %s, which slo sends in the logout request; give an endpoint without it (Config.EndSessionURL overrides the discovered one)", name, endpoint, key)
		}
	}
	return nil
}

// endSession returns the end-session endpoint and the logout parameters.
func (c *Client) endSession(p LogoutParams) (string, url.Values, error) {
	op, err := c.current()
	if err != nil {
		return "", nil, err
	}
	endpoint := op.meta.EndSessionEndpoint
	if endpoint == "" {
		return "", nil, ErrNoEndSessionEndpoint
	}
	redirect := c.cfg.PostLogoutRedirectURL
	if p.PostLogoutRedirectURL != "" && p.PostLogoutRedirectURL != redirect {
		return "", nil, fmt.Errorf("rp: post_logout_redirect_uri %q is not the configured PostLogoutRedirectURL", p.PostLogoutRedirectURL)
	}
	params := url.Values{"client_id": {c.cfg.ClientID}}
	for _, kv := range [...][2]string{
		{"id_token_hint", p.IDTokenHint},
		{"logout_hint", p.LogoutHint},
		{"post_logout_redirect_uri", redirect},
		{"state", p.State},
		{"ui_locales", p.UILocales},
	} {
		if kv[1] != "" {
			params.Set(kv[0], kv[1])
		}
	}
	return endpoint, params, nil
}

type formField struct{ Name, Value string }

var endSessionForm = template.Must(template.New("end-session").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Signing out</title>
</head>
<body>
<form id="end-session" method="post" {{.Action}}>
{{- range .Fields}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<noscript><p>Continue to sign out.</p><button type="submit">Sign out</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("end-session").submit();</script>
</body>
</html>
`))

// WriteEndSessionForm writes an HTML page that POSTs the logout request to
// the OP's end-session endpoint (RPI §2 form serialization; use it when the
// ID token is too large for a URL). The form's action is the endpoint with
// its own query, as for EndSessionURL; the logout parameters are the form
// fields. The page submits itself with a script
// allowed by a Content-Security-Policy nonce and offers a button when
// scripts are off. The response is marked Cache-Control: no-store and
// Referrer-Policy: no-referrer. Parameters and errors are as for
// EndSessionURL; on error nothing is written.
func (c *Client) WriteEndSessionForm(w http.ResponseWriter, p LogoutParams) error {
	endpoint, params, err := c.endSession(p)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	data := struct {
		Action template.HTMLAttr
		Fields []formField
		Nonce  string
	}{
		// Written as a whole attribute, HTML-escaped, because html/template
		// would normalise a URL value ("%zz" becomes "%25zz") and the
		// endpoint's own query must reach the OP as given. It is an http(s)
		// URL checked by New.
		Action: template.HTMLAttr(`action="` + html.EscapeString(endpoint) + `"`),
		Nonce:  rand.Text(),
	}
	for _, k := range keys {
		for _, v := range params[k] {
			data.Fields = append(data.Fields, formField{k, v})
		}
	}
	var buf bytes.Buffer
	if err := endSessionForm.Execute(&buf, data); err != nil {
		return fmt.Errorf("rp: end-session form: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+data.Nonce+"'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}
