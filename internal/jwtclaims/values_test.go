package jwtclaims

import (
	"strings"
	"testing"
	"time"
)

func TestNumericDate(t *testing.T) {
	cases := []struct {
		raw  string
		want time.Time
		ok   bool
	}{
		{"0", time.Unix(0, 0), true},
		{"1800000000", time.Unix(1800000000, 0), true},
		{"1800000000.5", time.Unix(1800000000, 5e8), true},
		{"1.8e9", time.Unix(1800000000, 0), true},
		{"253402300799", time.Unix(MaxNumericDate, 0), true},
		{"253402300800", time.Time{}, false},
		{"999999999999", time.Time{}, false},
		{"9999999999999", time.Time{}, false},
		{"1e400", time.Time{}, false},
		{"-1", time.Time{}, false},
		{`"1800000000"`, time.Time{}, false},
		{"null", time.Time{}, false},
		{"true", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := NumericDate([]byte(tc.raw))
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("NumericDate(%s) = %v, %v; want %v, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAudience(t *testing.T) {
	cases := []struct {
		raw  string
		want []string
	}{
		{`"a"`, []string{"a"}},
		{`["a","b"]`, []string{"a", "b"}},
		{`["\u0061"]`, []string{"a"}},
		{`[]`, nil},
		{`["a",1]`, nil},
		{`["a",null]`, nil},
		{`null`, nil},
		{`{"a":1}`, nil},
		{``, nil},
	}
	for _, tc := range cases {
		got, ok := Audience([]byte(tc.raw))
		if ok != (tc.want != nil) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Audience(%s) = %q, %v; want %q", tc.raw, got, ok, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"a"`, "a", true},
		{`""`, "", true},
		{`"\u0061\n"`, "a\n", true},
		{`"é"`, "é", true},
		{`1`, "", false},
		{`null`, "", false},
		{`["a"]`, "", false},
		{``, "", false},
		{`"`, "", false},
	}
	for _, tc := range cases {
		got, ok := String([]byte(tc.raw))
		if ok != tc.ok || got != tc.want {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}
