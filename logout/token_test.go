package logout

import (
	"bytes"
	"log/slog"
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
		{"253402300799", time.Unix(maxNumericDate, 0), true},
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
		got, ok := numericDate([]byte(tc.raw))
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("numericDate(%s) = %v, %v; want %v, %v", tc.raw, got, ok, tc.want, tc.ok)
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
		got, ok := audience([]byte(tc.raw))
		if ok != (tc.want != nil) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("audience(%s) = %q, %v; want %q", tc.raw, got, ok, tc.want)
		}
	}
}

func TestTokenHidesPayload(t *testing.T) {
	tk := &Token{Issuer: issA, Subject: "alice", SID: "s", JTI: "j", payload: []byte(`{"secret_claim":"hunter2"}`)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tk)
	logged := buf.String()
	if strings.Contains(logged, "hunter2") || !strings.Contains(logged, `"sid":"s"`) {
		t.Errorf("log = %s", logged)
	}
	if s := tk.String() + tk.GoString(); strings.Contains(s, "hunter2") || !strings.Contains(s, issA) {
		t.Errorf("String = %s", s)
	}
	var m map[string]string
	if err := tk.Claims(&m); err != nil || m["secret_claim"] != "hunter2" {
		t.Errorf("Claims = %v, %v", m, err)
	}
	var nilTok *Token
	if err := nilTok.Claims(&m); err == nil || !strings.HasPrefix(err.Error(), "logout:") {
		t.Errorf("nil Claims err = %v", err)
	}
	if nilTok.String() != "<nil>" || nilTok.LogValue().String() != "<nil>" {
		t.Error("nil token formatting")
	}
}
