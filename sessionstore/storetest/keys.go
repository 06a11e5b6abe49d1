package storetest

import (
	"time"

	"github.com/oidc-slo/slo/sessionstore"
)

// opaque are sid and subject values that are legal (sid has client_id
// syntax, %x20-7E; sub is any string) and that trip up stores which build
// keys, queries or patterns by concatenation: separators, Redis hash tags,
// glob and LIKE wildcards, URL escapes, quotes and non-ASCII text.
var opaque = []string{
	" ", "a b", " lead", "trail ", "a&b=c", "#frag", "100%", "%41", "a+b",
	`"dq"`, "'sq'", "`bt`", `back\slash`, "/", "a:b", ":", "::", "{", "}",
	"{tag}", "}{", "*", "?", "[a-z]", "_", "a%_b", "ü", "日本語", "😀",
	"tab\there", "line\nbreak", "sid:x", "sub:x",
}

// testOpaqueKeys: sid and subject are compared byte for byte.
func testOpaqueKeys(h *harness) {
	iss := h.issuer("op")
	var all []*sessionstore.Session
	for _, v := range opaque {
		s := h.session(iss, v, v, time.Hour)
		s.ID = h.id("") + v // ids are opaque too
		h.create(s)
		all = append(all, s)
	}
	for _, s := range all {
		h.has(s)
	}
	// End them one at a time, half by sid and half by subject, checking
	// that each delete ends exactly its own session.
	for i, s := range all {
		if i%2 == 0 {
			h.deleteBySID(iss, s.SID, 1)
		} else {
			h.deleteBySubject(iss, s.Subject, 1)
		}
		h.gone(s.ID)
		for _, rest := range all[i+1:] {
			h.has(rest)
		}
		if h.Failed() {
			h.Fatalf("deleting sid/sub %q ended other sessions", s.SID)
		}
	}
}

// testKeyCollisions: (issuer, value) pairs whose naive concatenations are
// equal are still different keys.
func testKeyCollisions(h *harness) {
	base := h.issuer("op")
	pairs := [][2]struct{ iss, v string }{
		{{base, "a:b"}, {base + ":a", "b"}},
		{{base, "}x"}, {base + "}", "x"}},
		{{base, "{x}"}, {base + "{", "x}"}},
		{{base, "/x"}, {base + "/", "x"}},
		{{base, " x"}, {base + " ", "x"}},
		{{base, "\x1fx"}, {base + "\x1f", "x"}},
	}
	for _, p := range pairs {
		a := h.session(p[0].iss, p[0].v, p[0].v, time.Hour)
		b := h.session(p[1].iss, p[1].v, p[1].v, time.Hour)
		h.create(a)
		h.create(b)
		h.deleteBySID(a.Issuer, a.SID, 1)
		h.gone(a.ID)
		h.has(b)
		h.deleteBySubject(b.Issuer, b.Subject, 1)
		h.gone(b.ID)
	}
}
