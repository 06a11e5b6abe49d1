package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	env := map[string]string{"SLO_ISSUER": "https://op.example", "SLO_CLIENT_ID": "from-env", "SLO_KEY": strings.Repeat("ab", 32)}
	o, err := parseFlags([]string{"-client-id", "from-flag", "-public-url", "https://app.example"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.issuer != "https://op.example" || o.clientID != "from-flag" || o.publicURL != "https://app.example" || o.store != "redis://127.0.0.1:6379/0" {
		t.Fatalf("options = %+v", o)
	}
	key, err := o.checkReplica()
	if err != nil || len(key) != 32 {
		t.Fatalf("checkReplica = %x, %v", key, err)
	}
	if _, err := parseFlags([]string{"-nope"}, func(string) string { return "" }); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestCheckReplica(t *testing.T) {
	good := options{issuer: "https://op.example", clientID: "app", key: strings.Repeat("00", 32), publicURL: "https://lb.example"}
	tests := []struct {
		name string
		edit func(*options)
		want string
	}{
		{"no key", func(o *options) { o.key = "" }, "every replica must use the same key"},
		{"short key", func(o *options) { o.key = strings.Repeat("00", 16) }, "want at least 32"},
		{"key not hex", func(o *options) { o.key = strings.Repeat("zz", 32) }, "not hex"},
		{"no public URL", func(o *options) { o.publicURL = "" }, "-public-url is required"},
		{"public URL with path", func(o *options) { o.publicURL = "https://lb.example/app" }, "must be an http(s) origin"},
		{"no issuer", func(o *options) { o.issuer = "" }, "-issuer is required"},
		{"no client", func(o *options) { o.clientID = "" }, "-client-id is required"},
	}
	if _, err := good.checkReplica(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			_, err := o.checkReplica()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkReplica = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestRoundRobin checks the demo's load balancer: requests alternate
// between the replicas and keep the public Host.
func TestRoundRobin(t *testing.T) {
	var targets []*url.URL
	for _, name := range []string{"a", "b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(name + " " + r.Host))
		}))
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		targets = append(targets, u)
	}
	lb := httptest.NewServer(roundRobin(targets))
	t.Cleanup(lb.Close)
	host := strings.TrimPrefix(lb.URL, "http://")
	var got []string
	for range 4 {
		_, _, body := get(t, http.DefaultClient, lb.URL+"/")
		got = append(got, body)
	}
	want := []string{"a " + host, "b " + host, "a " + host, "b " + host}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("answers = %q, want %q", got, want)
	}
}
