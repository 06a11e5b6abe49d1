package main

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

// roundRobin returns a reverse proxy that sends each request to the next
// of targets, like a load balancer without session affinity. It keeps the
// Host header, so the replicas see the public origin (the middleware's
// cross-origin check compares Origin with Host).
func roundRobin(targets []*url.URL) http.Handler {
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			t := targets[(next.Add(1)-1)%uint64(len(targets))]
			r.SetURL(t)
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
	}
}
