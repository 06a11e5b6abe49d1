package jwtclaims

import (
	"bytes"
	"unicode/utf8"
)

// validText reports whether every string in the valid JSON value raw is
// valid UTF-8 both as written and once unescaped: no invalid byte sequence
// (RFC 8259 §8.1) and no \u escape of a surrogate that is not half of a
// high-low pair (§8.2), which decoders turn into U+FFFD or worse.
func validText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; ; {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return true
		}
		i += j
		// raw is valid JSON: a backslash starts an escape, and \u has
		// four hex digits.
		if raw[i+1] != 'u' {
			i += 2
			continue
		}
		switch r := hex4(raw[i+2 : i+6]); {
		case r >= 0xD800 && r < 0xDC00:
			if len(raw)-i < 12 || raw[i+6] != '\\' || raw[i+7] != 'u' {
				return false
			}
			if r2 := hex4(raw[i+8 : i+12]); r2 < 0xDC00 || r2 > 0xDFFF {
				return false
			}
			i += 12
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		default:
			i += 6
		}
	}
}

// hex4 decodes four hex digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
