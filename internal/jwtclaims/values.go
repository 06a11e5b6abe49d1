package jwtclaims

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// MaxNumericDate bounds NumericDates: 9999-12-31T23:59:59Z. Larger numbers
// are refused rather than overflowing time arithmetic.
const MaxNumericDate = 253402300799

// String decodes raw as a JSON string; ok is false for any other type.
func String(raw []byte) (s string, ok bool) {
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

// NumericDate decodes raw as an RFC 7519 NumericDate: a non-negative JSON
// number of seconds (fractions allowed) no later than MaxNumericDate.
func NumericDate(raw []byte) (time.Time, bool) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, false
	}
	if len(raw) <= 12 && skipDigits(raw, 0) == len(raw) {
		// The usual case: whole seconds, at most 12 digits (MaxNumericDate
		// has 12), so no overflow.
		var n int64
		for _, c := range raw {
			n = n*10 + int64(c-'0')
		}
		if n > MaxNumericDate {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > MaxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), true
}

// Audience decodes "aud": a string or a non-empty array of strings.
func Audience(raw []byte) ([]string, bool) {
	if s, ok := String(raw); ok {
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
		s, ok := String(e)
		if !ok {
			return nil, false
		}
		aud[i] = s
	}
	return aud, true
}
