package middleware

import (
	"errors"
	"net/url"
	"strings"
)

// maxReturnToLen bounds a return-to value. It travels in the sealed cookie
// of a login, and the login cookies of a browser must stay small (see
// maxLogins).
const maxReturnToLen = 1024

// ErrBadReturnTo is returned for a return-to value that is not a same-origin
// relative path. Handlers answer it with 400.
var ErrBadReturnTo = errors.New("middleware: return_to must be a same-origin relative path")

// ValidReturnTo checks a return-to value taken from a request and returns it
// unchanged if it is a same-origin relative path ("/", "/inbox?x=1#top").
// An empty value yields "/". It refuses values longer than 1024 bytes,
// absolute URLs, scheme-relative
// ("//evil") and backslash forms ("/\evil", "https://evil\@rp"), schemes
// such as "javascript:", user info, control characters (raw or
// percent-encoded, as in "%0d%0a"), and paths whose decoded form starts
// with "//" or "/\", because some servers and proxies decode before routing.
// This is the open-redirect class of CVE-2019-3877 and CVE-2021-32786.
func ValidReturnTo(v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	if len(v) > maxReturnToLen || v[0] != '/' {
		return "", ErrBadReturnTo
	}
	if len(v) > 1 && (v[1] == '/' || v[1] == '\\') {
		return "", ErrBadReturnTo
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c == 0x7f || c == '\\' || c >= 0x80 {
			// Control characters, spaces, backslashes and raw non-ASCII
			// bytes: a correct client percent-encodes all of them.
			return "", ErrBadReturnTo
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", ErrBadReturnTo
	}
	// Decode the whole value and look again: "%0d%0a", "%5c" and "/%2f..."
	// are harmless to a correct server but not to every proxy.
	dec, err := url.PathUnescape(v)
	if err != nil {
		return "", ErrBadReturnTo
	}
	if len(dec) > 1 && (dec[1] == '/' || dec[1] == '\\') {
		return "", ErrBadReturnTo
	}
	if strings.ContainsFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "", ErrBadReturnTo
	}
	return v, nil
}
