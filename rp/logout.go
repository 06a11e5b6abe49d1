package rp

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
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
// Config.EndSessionURL), keeping any query it already has, with
// id_token_hint, logout_hint, client_id (always sent: it names the same
// client as the hint's aud, RPI §2), post_logout_redirect_uri, state and
// ui_locales added. It returns ErrNoEndSessionEndpoint when the OP has no
// end-session endpoint; the caller then logs out locally only.
func (c *Client) EndSessionURL(p LogoutParams) (string, error) {
	u, params, err := c.endSession(p)
	if err != nil {
		return "", err
	}
	u.RawQuery = mergeQuery(u.RawQuery, params)
	return u.String(), nil
}

// mergeQuery adds params to the raw query of the end-session endpoint. The
// endpoint's own query is kept byte for byte (RP-Initiated Logout 1.0 §2.1)
// unless it sets one of the logout parameters itself; then the logout's
// value wins and the query is re-encoded.
func mergeQuery(raw string, params url.Values) string {
	if raw == "" {
		return params.Encode()
	}
	q, err := url.ParseQuery(raw)
	clash := err != nil
	for k := range params {
		if _, ok := q[k]; ok {
			clash = true
		}
	}
	if !clash {
		return raw + "&" + params.Encode()
	}
	for k, v := range params {
		q[k] = v
	}
	return q.Encode()
}

// endSession returns the end-session endpoint and the logout parameters.
func (c *Client) endSession(p LogoutParams) (*url.URL, url.Values, error) {
	if c.meta.EndSessionEndpoint == "" {
		return nil, nil, ErrNoEndSessionEndpoint
	}
	u, err := url.Parse(c.meta.EndSessionEndpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("rp: end_session_endpoint: %w", err)
	}
	redirect := c.cfg.PostLogoutRedirectURL
	if p.PostLogoutRedirectURL != "" && p.PostLogoutRedirectURL != redirect {
		return nil, nil, fmt.Errorf("rp: post_logout_redirect_uri %q is not the configured PostLogoutRedirectURL", p.PostLogoutRedirectURL)
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
	return u, params, nil
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
<form id="end-session" method="post" action="{{.Action}}">
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
// ID token is too large for a URL). The page submits itself with a script
// allowed by a Content-Security-Policy nonce and offers a button when
// scripts are off. The response is marked Cache-Control: no-store and
// Referrer-Policy: no-referrer. Parameters and errors are as for
// EndSessionURL; on error nothing is written.
func (c *Client) WriteEndSessionForm(w http.ResponseWriter, p LogoutParams) error {
	u, params, err := c.endSession(p)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	data := struct {
		Action string
		Fields []formField
		Nonce  string
	}{Action: u.String(), Nonce: rand.Text()}
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
