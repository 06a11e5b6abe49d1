package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"

	"github.com/oidc-slo/slo/internal/testop"
)

// demoEndOPSession is the proxy path of the -demo page's "end the session
// at the OP" form.
const demoEndOPSession = "/demo/end-op-session"

// runDemo runs, in one process, slo's test OP, two replicas sharing the
// store at o.store, and a round-robin proxy on o.addr in front of them.
func runDemo(ctx context.Context, o options) error {
	op, err := testop.Start(testop.Config{}, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer op.Close()
	key := randomKey()
	if o.key != "" {
		if key, err = decodeKey(o.key); err != nil {
			return err
		}
	}
	proxyLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer proxyLn.Close()
	public := "http://" + proxyLn.Addr().String()
	clientID, secret := "cluster-demo", "cluster-demo-secret"
	// One registration for all replicas: every URI is the proxy's.
	if err := op.AddClient(testop.Client{
		ID:                                clientID,
		Secret:                            secret,
		RedirectURIs:                      []string{public + "/callback"},
		PostLogoutRedirectURIs:            []string{public + "/logged-out"},
		BackChannelLogoutURI:              public + "/backchannel-logout",
		BackChannelLogoutSessionRequired:  true,
		FrontChannelLogoutURIs:            []string{public + "/frontchannel-logout"},
		FrontChannelLogoutSessionRequired: true,
	}); err != nil {
		return err
	}

	var targets []*url.URL
	var lns []net.Listener
	var handlers []http.Handler
	for _, name := range []string{"1", "2"} {
		b, err := openBackend(ctx, o.store, o.prefix) // each replica has its own connections
		if err != nil {
			return err
		}
		defer b.Close()
		logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("replica", name)
		r, err := newReplica(ctx, appConfig{
			Name: name, Issuer: op.Issuer(), ClientID: clientID, ClientSecret: secret,
			PublicURL: public, Key: key, Store: b.Store, SingleUse: b.SingleUse, Logger: logger,
			EndOPSessionPath: demoEndOPSession,
		})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		targets = append(targets, &url.URL{Scheme: "http", Host: ln.Addr().String()})
		lns = append(lns, ln)
		handlers = append(handlers, r)
	}

	mux := http.NewServeMux()
	mux.Handle("/", roundRobin(targets))
	mux.HandleFunc("POST "+demoEndOPSession, func(w http.ResponseWriter, r *http.Request) {
		sid := r.PostFormValue("sid")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if sid == "" {
			http.Error(w, "sid missing", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "The OP ended session %s and posted logout tokens:\n", sid)
		for _, d := range op.EndSession(r.Context(), sid) {
			fmt.Fprintf(w, "  %s -> %d %v\n", d.URI, d.Status, d.Err)
		}
		fmt.Fprintf(w, "\nGo back to %s/ : every replica now shows you logged out.\n", public)
	})

	fmt.Printf("slo cluster demo (%s store)\n  OP:      %s\n  proxy:   %s/  (round robin)\n", o.store, op.Issuer(), public)
	for i, t := range targets {
		fmt.Printf("  replica %d: %s\n", i+1, t)
	}
	fmt.Println("Open the proxy, log in (the OP logs in \"alice\" automatically) and reload:")
	fmt.Println("replicas alternate and both know you. End the session at the OP: the")
	fmt.Println("back-channel logout reaches one replica and logs you out of both. Ctrl-C stops.")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(lns)+1)
	for i, ln := range append(lns, proxyLn) {
		h := http.Handler(mux)
		if i < len(handlers) {
			h = handlers[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = serve(ctx, ln, h); errs[i] != nil {
				cancel() // one server failed: stop the others
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
