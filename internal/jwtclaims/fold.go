package jwtclaims

import (
	"unicode"
	"unicode/utf8"
)

// folded maps the folded form of each claim Parse reads to its name.
var folded = map[string]string{
	"ISS": "iss", "SUB": "sub", "SID": "sid", "AUD": "aud", "AZP": "azp", "IAT": "iat",
	"EXP": "exp", "NBF": "nbf", "JTI": "jti", "EVENTS": "events", "NONCE": "nonce",
}

// maxAliasLen is the longest member name, in bytes, that can fold to one of
// the claim names: six letters, each at most a 4-byte rune.
const maxAliasLen = 6 * utf8.UTFMax

// aliasOf reports the checked claim that the member name key (unescaped,
// and not exactly that claim's name) would be matched to by encoding/json,
// which matches names case-insensitively with Unicode simple folding: "SID",
// "Sid" and "ſid" (U+017F LATIN SMALL LETTER LONG S) are all "sid" to it.
func aliasOf(key []byte) (string, bool) {
	if len(key) < 3 || len(key) > maxAliasLen {
		return "", false
	}
	if n := len(key); n != 3 && n != 5 && n != 6 && isASCII(key) {
		return "", false // an ASCII name folds to one of its own length
	}
	var buf [3 * maxAliasLen]byte
	name, ok := folded[string(appendFoldedName(buf[:0], key))]
	return name, ok
}

// appendFoldedName is encoding/json's (Go 1.21 and later, also under
// GOEXPERIMENT=jsonv2 with v1 semantics): foldName(x) == foldName(y) exactly
// when encoding/json matches the member name x to the field name y. ASCII
// letters are upper-cased; every other rune becomes the smallest rune of its
// simple-folding orbit (so U+017F becomes 'S' and U+212A KELVIN SIGN 'K');
// an invalid byte becomes U+FFFD.
func appendFoldedName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's simple-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
