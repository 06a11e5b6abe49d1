package oidcprovider

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// MaxSteps bounds the redirects and form submissions of one UserAgent walk.
const MaxSteps = 30

// UserAgent walks the OP's automatic pages with plain HTTP the way a browser
// would: it keeps cookies, follows redirects, and submits the forms that
// would submit themselves in a browser (the OP's logout prompt, form_post
// responses, an RP's auto-posting end-session form). It runs no other
// JavaScript, so front-channel iframes and session management need chromium.
//
// Cookies are kept per host, not per port, as browsers do: apps on one host
// must use distinct session cookie names.
type UserAgent struct {
	// Client is the HTTP client; its CheckRedirect is replaced so that the
	// UserAgent sees every redirect.
	Client *http.Client
}

// NewUserAgent returns a UserAgent with an empty cookie jar.
func NewUserAgent() *UserAgent {
	jar, err := cookiejar.New(nil)
	if err != nil { // cookiejar.New never fails without options
		panic(err)
	}
	return &UserAgent{Client: &http.Client{Jar: jar}}
}

// Page is where a walk ended.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

// Get requests rawURL and follows redirects and self-submitting forms to the
// final page.
func (ua *UserAgent) Get(ctx context.Context, rawURL string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	page, _, err := ua.Walk(req, nil)
	return page, err
}

// PostForm posts form to rawURL and walks on like Get.
func (ua *UserAgent) PostForm(ctx context.Context, rawURL string, form url.Values) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	page, _, err := ua.Walk(req, nil)
	return page, err
}

// Authorize walks authURL through the OP's login and consent and returns the
// parameters of the redirect to redirectURL (scheme, host and path compared)
// without requesting it: a code and state, or an error such as
// login_required.
func (ua *UserAgent) Authorize(ctx context.Context, authURL, redirectURL string) (url.Values, error) {
	target, err := url.Parse(redirectURL)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: redirect URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	page, stopped, err := ua.Walk(req, func(u *url.URL) bool { return samePath(u, target) })
	if err != nil {
		return nil, err
	}
	if stopped == nil {
		return nil, fmt.Errorf("oidcprovider: authorization ended at %s (status %d) without reaching %s: %s", page.URL, page.Status, redirectURL, clip(page.Body))
	}
	return stopped.Query(), nil
}

// Walk sends req, then follows redirects and self-submitting forms. When stop
// is not nil and returns true for the next URL to visit, Walk returns that
// URL without visiting it, along with the last page it saw.
func (ua *UserAgent) Walk(req *http.Request, stop func(*url.URL) bool) (*Page, *url.URL, error) {
	c := *ua.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx := req.Context()
	for range MaxSteps {
		page, err := do(&c, req)
		if err != nil {
			return nil, nil, err
		}
		var next *http.Request
		switch {
		case page.Status >= 300 && page.Status < 400 && page.Header.Get("Location") != "":
			u, err := page.URL.Parse(page.Header.Get("Location"))
			if err != nil {
				return page, nil, fmt.Errorf("oidcprovider: bad redirect from %s: %w", page.URL, err)
			}
			if stop != nil && stop(u) {
				return page, u, nil
			}
			next, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return page, nil, fmt.Errorf("oidcprovider: %w", err)
			}
		case selfSubmitting(page):
			f, err := parseForm(page)
			if err != nil {
				return page, nil, err
			}
			if stop != nil && stop(f.action) {
				return page, f.action, nil
			}
			next, err = f.request(ctx)
			if err != nil {
				return page, nil, err
			}
		default:
			return page, nil, nil
		}
		req = next
	}
	return nil, nil, fmt.Errorf("oidcprovider: more than %d redirects or forms from %s", MaxSteps, req.URL)
}

func do(c *http.Client, req *http.Request) (*Page, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: reading %s: %w", req.URL, err)
	}
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}

func samePath(u, target *url.URL) bool {
	return u.Scheme == target.Scheme && u.Host == target.Host && u.Path == target.Path
}

// selfSubmitting reports whether a browser would submit the page's form on
// load: an HTML page with a form and a script calling submit().
func selfSubmitting(p *Page) bool {
	if p.Status != http.StatusOK || !strings.Contains(p.Header.Get("Content-Type"), "html") {
		return false
	}
	body := strings.ToLower(p.Body)
	return strings.Contains(body, "<form") && strings.Contains(body, ".submit()")
}

var (
	tagRE  = regexp.MustCompile(`(?is)<(form|input|/form)\b([^>]*)>`)
	attrRE = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

type form struct {
	method string
	action *url.URL
	values url.Values
}

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// parseForm reads the first form of the page and its named inputs.
func parseForm(p *Page) (*form, error) {
	var f *form
	for _, m := range tagRE.FindAllStringSubmatch(p.Body, -1) {
		tag := strings.ToLower(m[1])
		switch {
		case tag == "form" && f == nil:
			a := attrs(m[2])
			action, err := p.URL.Parse(a["action"])
			if err != nil {
				return nil, fmt.Errorf("oidcprovider: form action on %s: %w", p.URL, err)
			}
			method := strings.ToUpper(a["method"])
			if method == "" {
				method = http.MethodGet
			}
			f = &form{method: method, action: action, values: url.Values{}}
		case tag == "input" && f != nil:
			a := attrs(m[2])
			if name, ok := a["name"]; ok && name != "" {
				f.values.Add(name, a["value"])
			}
		case tag == "/form" && f != nil:
			return f, nil
		}
	}
	if f == nil {
		return nil, errors.New("oidcprovider: no form on " + p.URL.String())
	}
	return f, nil
}

func (f *form) request(ctx context.Context) (*http.Request, error) {
	if f.method == http.MethodGet {
		u := *f.action
		u.RawQuery = f.values.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("oidcprovider: %w", err)
		}
		return req, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.action.String(), strings.NewReader(f.values.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func clip(s string) string {
	if len(s) > 500 {
		return s[:500] + "…"
	}
	return s
}
