package rp_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oidc-slo/slo/rp"
)

func TestLogValueHidesSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	st := &rp.LoginState{Issuer: "https://op.example", State: "SECRET-STATE", Nonce: "SECRET-NONCE", CodeVerifier: "SECRET-CV"}
	res := &rp.Result{Issuer: "https://op.example", Subject: "alice", SID: "s1", RawIDToken: "SECRET-IDT",
		Token: &oauth2.Token{AccessToken: "SECRET-AT", RefreshToken: "SECRET-RT"}}
	log.Info("x", "st", st, "res", res)
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Errorf("secret logged: %s", out)
	}
	if !strings.Contains(out, "res.sub=alice") || !strings.Contains(out, "st.iss=https://op.example") {
		t.Errorf("log lacks identity: %s", out)
	}
}
