// Package weborigin computes the origin of a URL the way browsers serialise
// it (RFC 6454 §6.2, as reported in event.origin and the Origin header), for
// rp, logout and middleware alike.
package weborigin

import (
	"net/url"
	"strings"
)

// Of returns the ASCII serialization of an http(s) URL's origin:
// scheme://host[:port], lower case, without a default port. It returns ""
// for anything else: another scheme, no host, user info, an opaque URL, or
// a host that is not plain ASCII (browsers would report it in punycode).
func Of(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return ""
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return ""
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// Same reports whether a and b are URLs of the same, valid origin.
func Same(a, b string) bool {
	o := Of(a)
	return o != "" && o == Of(b)
}
