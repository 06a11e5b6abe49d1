package rp

import (
	"net/url"
	"testing"
)

func TestMergeQuery(t *testing.T) {
	params := url.Values{"client_id": {"app"}, "state": {"s 1"}}
	tests := []struct{ raw, want string }{
		{"", "client_id=app&state=s+1"},
		// The endpoint's own query stays byte for byte, order and encoding.
		{"z=1&a=%7e&tenant=t%20x", "z=1&a=%7e&tenant=t%20x&client_id=app&state=s+1"},
		// A logout parameter in the endpoint's query is replaced.
		{"state=old&z=1", "client_id=app&state=s+1&z=1"},
	}
	for _, tt := range tests {
		if got := mergeQuery(tt.raw, params); got != tt.want {
			t.Errorf("mergeQuery(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
