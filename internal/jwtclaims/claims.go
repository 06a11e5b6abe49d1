// Package jwtclaims reads the registered claims that slo checks from a JWT
// payload, for logout tokens (package logout) and ID tokens (package rp)
// alike, so that both read them the same way.
//
// [Parse] reads the payload in one pass that also validates it as JSON. It
// is hand-written because it is faster than encoding/json on the same
// claims (BenchmarkParse measures both in one run), and because it is exact
// where encoding/json is lenient: encoding/json keeps the last of repeated
// names, matches names case-insensitively ("SID" and "ſid" are "sid" to it)
// and turns invalid UTF-8 into U+FFFD. Parse refuses a payload where that
// leniency could make another reader see a checked claim differently.
package jwtclaims

import (
	"errors"
	"fmt"
)

// Claims holds the raw JSON values of the claims slo checks, as they appear
// in the payload (a string keeps its quotes and escapes). A nil field means
// the claim is absent; "null" means present with a null value.
type Claims struct {
	Iss, Sub, SID, Aud, AZP, IAT, Exp, NBF, JTI, Events, Nonce []byte
}

// Errors returned by Parse, wrapped with detail; test with errors.Is.
var (
	// ErrNotObject: the payload is not a JSON object.
	ErrNotObject = errors.New("jwtclaims: payload is not a JSON object")
	// ErrSyntax: the payload is not valid JSON.
	ErrSyntax = errors.New("jwtclaims: payload is not valid JSON")
	// ErrDepth: objects and arrays are nested deeper than MaxDepth.
	ErrDepth = errors.New("jwtclaims: payload nested too deeply")
	// ErrDuplicate: a claim that Claims has a field for appears twice.
	ErrDuplicate = errors.New("jwtclaims: duplicate claim")
	// ErrAlias: a member's name is not one of the claims that Claims has a
	// field for, but encoding/json would take it for one ("SID", "ſid").
	ErrAlias = errors.New("jwtclaims: case- or Unicode-folded variant of claim")
	// ErrUTF8: the value of a claim that Claims has a field for is not
	// valid UTF-8, as written or once unescaped.
	ErrUTF8 = errors.New("jwtclaims: claim is not valid UTF-8")
)

// Parse splits a JWT payload into the claims of [Claims]. The payload must
// be a JSON object (what [encoding/json.Valid] accepts, nested at most
// MaxDepth deep) in which each of those claims
//   - appears at most once (ErrDuplicate),
//   - has no other member whose name encoding/json would match to it
//     case-insensitively or by Unicode simple folding, such as "SID", "Sid"
//     or "ſid" for "sid" (ErrAlias), and
//   - has a value whose strings are valid UTF-8 as written and once
//     unescaped, with no lone surrogate escape such as \ud800 (ErrUTF8).
//
// Whatever Parse accepts, encoding/json reads the same claims from: the same
// member for each, and the same text for each string in it. Other members
// are validated as JSON and otherwise ignored.
func Parse(payload []byte) (Claims, error) {
	var c Claims
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return c, ErrNotObject
	}
	end, err := scanObject(payload, i, 1, func(key, val []byte) error {
		var f *[]byte
		switch string(key) {
		case "iss":
			f = &c.Iss
		case "sub":
			f = &c.Sub
		case "sid":
			f = &c.SID
		case "aud":
			f = &c.Aud
		case "azp":
			f = &c.AZP
		case "iat":
			f = &c.IAT
		case "exp":
			f = &c.Exp
		case "nbf":
			f = &c.NBF
		case "jti":
			f = &c.JTI
		case "events":
			f = &c.Events
		case "nonce":
			f = &c.Nonce
		default:
			if name, ok := aliasOf(key); ok {
				return fmt.Errorf("%w %s", ErrAlias, name)
			}
			return nil
		}
		if *f != nil {
			return fmt.Errorf("%w %s", ErrDuplicate, key)
		}
		if !validText(val) {
			return fmt.Errorf("%w: %s", ErrUTF8, key)
		}
		*f = val
		return nil
	})
	if err != nil {
		return Claims{}, err
	}
	if skipSpace(payload, end) != len(payload) {
		return Claims{}, ErrSyntax
	}
	return c, nil
}

// Member returns the raw value of the member name (matched exactly, after
// unescaping) of the JSON object obj, and whether it is there. obj must be a
// valid JSON object, and must not have that member twice (ErrDuplicate).
func Member(obj []byte, name string) (val []byte, found bool, err error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, ErrNotObject
	}
	end, err := scanObject(obj, i, 1, func(key, v []byte) error {
		if string(key) != name {
			return nil
		}
		if found {
			return fmt.Errorf("%w member %s", ErrDuplicate, name)
		}
		val, found = v, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if skipSpace(obj, end) != len(obj) {
		return nil, false, ErrSyntax
	}
	return val, found, nil
}
