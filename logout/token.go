package logout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"
)

// Token is a verified back-channel logout token.
type Token struct {
	// Issuer is the OP that issued the token ("iss"); it is exactly the
	// Issuer of one of the verifier's providers.
	Issuer string
	// Subject is the end-user ("sub"); empty if the token names only a
	// session.
	Subject string
	// SID is the OP session id ("sid"); empty if the token names only a
	// subject, which means every session of (Issuer, Subject).
	SID string
	// JTI is the token's unique id ("jti").
	JTI string
	// Audience is the "aud" claim (a single string becomes one element).
	Audience []string
	// IssuedAt is "iat".
	IssuedAt time.Time
	// Expiry is "exp"; zero only when the verifier allows tokens without
	// exp ([VerifierConfig.AllowMissingExp]) and this one has none.
	Expiry time.Time

	payload []byte // the verified JWS payload (a JSON object)
}

// Claims decodes the token's verified payload into v with [json.Unmarshal],
// for claims that Token has no field for. Note that encoding/json matches
// object keys case-insensitively and keeps the last of duplicate keys;
// the verifier refuses duplicates only of the claims it checks itself.
func (t *Token) Claims(v any) error {
	if t == nil || t.payload == nil {
		return fmt.Errorf("logout: token has no claims")
	}
	if err := json.Unmarshal(t.payload, v); err != nil {
		return fmt.Errorf("logout: decoding claims: %w", err)
	}
	return nil
}

// LogValue implements [slog.LogValuer]. It shows the token's identity, never
// the token or its payload.
func (t *Token) LogValue() slog.Value {
	if t == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("iss", t.Issuer),
		slog.String("sub", t.Subject),
		slog.String("sid", t.SID),
		slog.String("jti", t.JTI),
		slog.Time("iat", t.IssuedAt),
		slog.Time("exp", t.Expiry),
	)
}

// String describes the token without its payload, so that fmt verbs such as
// %v never print claims the application did not ask for.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("logout.Token{iss=%q sub=%q sid=%q jti=%q}", t.Issuer, t.Subject, t.SID, t.JTI)
}

// GoString is like String, for the %#v verb.
func (t *Token) GoString() string { return t.String() }

// backChannelEvent is the member of the "events" claim that marks a
// back-channel logout token.
const backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxNumericDate bounds iat, exp and nbf: 9999-12-31T23:59:59Z. Larger
// numbers are refused rather than overflowing time arithmetic.
const maxNumericDate = 253402300799

// rawClaims holds the raw JSON values of the claims the verifier checks.
// A nil field means the claim is absent; "null" means present with a null
// value, which is never accepted.
type rawClaims struct {
	iss, sub, sid, aud, azp, iat, exp, nbf, jti, events, nonce []byte
}

// parseClaims splits a JWT payload into the claims the verifier checks. It
// reads the payload in one pass that also validates it as JSON (what
// [json.Valid] accepts, except nesting deeper than maxDepth): the payload
// must be a JSON object and must not repeat any of those claims (encoding/json
// would silently keep the last one). Other members are ignored.
func parseClaims(payload []byte) (rawClaims, error) {
	var c rawClaims
	i := skipSpace(payload, 0)
	if i >= len(payload) || payload[i] != '{' {
		return c, invalid(ReasonMalformed, "payload is not a JSON object")
	}
	end, err := scanObject(payload, i, 1, func(key, val []byte) error {
		var f *[]byte
		switch string(key) {
		case "iss":
			f = &c.iss
		case "sub":
			f = &c.sub
		case "sid":
			f = &c.sid
		case "aud":
			f = &c.aud
		case "azp":
			f = &c.azp
		case "iat":
			f = &c.iat
		case "exp":
			f = &c.exp
		case "nbf":
			f = &c.nbf
		case "jti":
			f = &c.jti
		case "events":
			f = &c.events
		case "nonce":
			f = &c.nonce
		default:
			return nil
		}
		if *f != nil {
			return invalid(ReasonMalformed, "duplicate claim "+string(key))
		}
		*f = val
		return nil
	})
	if err != nil {
		return rawClaims{}, err
	}
	if skipSpace(payload, end) != len(payload) {
		return rawClaims{}, errBadJSON
	}
	return c, nil
}

// maxDepth bounds the nesting of objects and arrays in a payload.
const maxDepth = 64

var errBadJSON = &ValidationError{Reason: ReasonMalformed, Err: errors.New("payload is not valid JSON")}

// scanObject validates the JSON object starting at b[i] (which is '{'),
// calls fn, if not nil, with the unescaped name and raw value of each of its
// members in order, and returns the index just after the object.
func scanObject(b []byte, i, depth int, fn func(key, val []byte) error) (int, error) {
	if depth > maxDepth {
		return 0, invalid(ReasonMalformed, "payload nested too deeply")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errBadJSON
		}
		kstart := i
		kend, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, errBadJSON
		}
		i = skipSpace(b, i+1)
		vend, err := scanValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			if err := fn(memberName(b[kstart:kend]), b[i:vend]); err != nil {
				return 0, err
			}
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return 0, errBadJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errBadJSON
		}
	}
}

// memberName returns the name in the valid JSON string quoted.
func memberName(quoted []byte) []byte {
	key := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(key, '\\') < 0 {
		return key
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return nil // unreachable: quoted was validated
	}
	return []byte(s)
}

// scanArray validates the JSON array starting at b[i] (which is '[').
func scanArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, invalid(ReasonMalformed, "payload nested too deeply")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := scanValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errBadJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, errBadJSON
		}
	}
}

// scanValue validates the JSON value starting at b[i] and returns the index
// just after it. depth is the nesting depth of the enclosing container.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errBadJSON
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		return scanObject(b, i, depth+1, nil)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, errBadJSON
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errBadJSON
	}
	return i + len(lit), nil
}

// scanString validates the JSON string starting at b[i] (which is '"') and
// returns the index just after its closing quote. Like encoding/json it
// refuses control characters and bad escapes and does not check UTF-8.
func scanString(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return 0, errBadJSON
		case c == '\\':
			i++
			if i >= len(b) {
				return 0, errBadJSON
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return 0, errBadJSON
				}
				i += 4
			default:
				return 0, errBadJSON
			}
		}
	}
	return 0, errBadJSON
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber validates the JSON number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return 0, errBadJSON
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return 0, errBadJSON
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return 0, errBadJSON
		}
		i = j
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonString decodes raw as a JSON string; ok is false for any other type.
func jsonString(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// numericDate decodes raw as an RFC 7519 NumericDate: a non-negative JSON
// number of seconds (fractions allowed) no later than year 9999.
func numericDate(raw []byte) (time.Time, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, false
	}
	if len(raw) <= 12 && skipDigits(raw, 0) == len(raw) {
		// The usual case: whole seconds, at most 12 digits (< maxNumericDate
		// needs 12), so no overflow.
		var n int64
		for _, c := range raw {
			n = n*10 + int64(c-'0')
		}
		if n > maxNumericDate {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), true
}

// audience decodes "aud": a string or a non-empty array of strings.
func audience(raw []byte) ([]string, bool) {
	if s, ok := jsonString(raw); ok {
		return []string{s}, true
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || len(elems) == 0 {
		return nil, false
	}
	aud := make([]string, len(elems))
	for i, e := range elems {
		s, ok := jsonString(e)
		if !ok {
			return nil, false
		}
		aud[i] = s
	}
	return aud, true
}

// checkEvents reports whether raw is a JSON object whose back-channel logout
// member is present, once, and is itself a JSON object.
func checkEvents(raw []byte) error {
	if len(raw) == 0 || raw[0] != '{' {
		return invalid(ReasonEvents, "events is not an object")
	}
	found := false
	_, err := scanObject(raw, 0, 1, func(key, val []byte) error {
		if string(key) != backChannelEvent {
			return nil
		}
		if found {
			return invalid(ReasonMalformed, "duplicate back-channel logout event")
		}
		found = true
		if len(val) == 0 || val[0] != '{' {
			return invalid(ReasonEvents, "back-channel logout event is not an object")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		return invalid(ReasonEvents, "no back-channel logout event")
	}
	return nil
}
