package hydraop

import (
	"strings"
	"testing"
)

// Log lines as Hydra v2.3.0 writes them after a back-channel call
// (trimmed of the http_request field).
func TestBackChannelEvent(t *testing.T) {
	tests := []struct {
		line string
		want Event
		ok   bool
	}{
		{
			line: `{"audience":"application","backchannel_logout_url":"http://127.0.0.1:40589/backchannel-logout","client_id":"strict","error":{"message":"expected HTTP status code 200 or 204 but got 400"},"level":"error","msg":"Unable to execute OpenID Connect Back-Channel Logout Request","service_name":"Ory Hydra"}`,
			want: Event{Name: "backchannel.error", ClientID: "strict", URL: "http://127.0.0.1:40589/backchannel-logout", Error: "expected HTTP status code 200 or 204 but got 400"},
			ok:   true,
		},
		{
			line: `{"audience":"application","backchannel_logout_url":"http://127.0.0.1:41689/backchannel-logout","client_id":"compat","level":"info","msg":"Back-Channel Logout Request","service_name":"Ory Hydra"}`,
			want: Event{Name: "backchannel.success", ClientID: "compat", URL: "http://127.0.0.1:41689/backchannel-logout"},
			ok:   true,
		},
		{line: `{"level":"info","msg":"completed handling request"}`},
		{line: `Thank you for using Ory Hydra master!`},
		{line: `{"msg":"Back-Channel Logout Request"`},
	}
	for _, tc := range tests {
		got, ok := backChannelEvent([]byte(tc.line))
		if ok != tc.ok || got != tc.want {
			t.Errorf("backChannelEvent(%.60s…) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.Host != "localhost" || o.Subject != "alice" {
		t.Errorf("Options{}.withDefaults() = %+v, %v", o, err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := (Options{Host: host}).withDefaults(); err != nil {
			t.Errorf("Host %q: %v", host, err)
		}
	}
	for _, host := range []string{"example.com", "10.0.0.1", "::1", "127.0.0.2"} {
		if _, err := (Options{Host: host}).withDefaults(); err == nil || !strings.Contains(err.Error(), "where Hydra listens") {
			t.Errorf("Host %q: %v, want an error", host, err)
		}
	}
}

func TestConfigIssuer(t *testing.T) {
	o, _ := Options{}.withDefaults()
	b, err := config(o, ports{public: 4444, admin: 4445}, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"issuer": "http://localhost:4444"`, `"disallow_private_ip_ranges": false`, `"login": "http://127.0.0.1:1/login"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("configuration lacks %s:\n%s", want, b)
		}
	}
}
