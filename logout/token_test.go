package logout

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

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
