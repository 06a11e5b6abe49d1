// Command cluster is a demo application meant to run as several replicas
// behind a load balancer. The replicas share the session store and the
// single-use store (Redis or PostgreSQL) and the middleware Key, so that a login
// started on one replica can finish on another, and a back-channel logout
// that the OP posts to any replica ends the session on all of them.
//
// One replica:
//
//	cluster -store redis://127.0.0.1:6379/0 -addr 127.0.0.1:8081 \
//	    -issuer https://op.example.com -client-id app -client-secret s3cret \
//	    -key $(cat key.hex) -public-url https://app.example.com
//
// Everything in one process (test OP, two replicas, a round-robin proxy):
//
//	go run . -demo
//
// Every flag can also be set in the environment: -client-id is
// SLO_CLIENT_ID, and so on (flags win).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	store, prefix, addr, name      string
	issuer, clientID, clientSecret string
	key, publicURL                 string
	demo                           bool
}

// envName returns the environment variable of a flag: SLO_ and the flag
// name upper-cased with - as _.
func envName(flagName string) string {
	return "SLO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseFlags(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	str := func(p *string, name, def, usage string) {
		if v := getenv(envName(name)); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&o.store, "store", "redis://127.0.0.1:6379/0", "shared store: redis://host:port/db or postgres://user@host:port/db")
	str(&o.prefix, "prefix", "", `Redis key prefix (default "slo:"), or PostgreSQL table name prefix (default "slo_")`)
	str(&o.addr, "addr", "127.0.0.1:8081", "listen address of this replica (of the proxy with -demo)")
	str(&o.name, "name", "", "replica name shown on the page (default hostname:port)")
	str(&o.issuer, "issuer", "", "OP issuer URL")
	str(&o.clientID, "client-id", "", "client_id registered at the OP (the same for every replica)")
	str(&o.clientSecret, "client-secret", "", "client secret (empty for a public client)")
	str(&o.key, "key", "", "hex middleware Key, at least 32 bytes, the same for every replica (openssl rand -hex 32)")
	str(&o.publicURL, "public-url", "", "origin the OP and browsers use: the load balancer's, e.g. https://app.example.com")
	fs.BoolVar(&o.demo, "demo", false, "run a test OP, two replicas and a round-robin proxy in this process")
	if err := fs.Parse(args); err != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return o, fmt.Errorf("%w\n%s", err, b.String())
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("cluster: unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// checkReplica validates the options of a replica and returns its Key.
func (o options) checkReplica() ([]byte, error) {
	var errs []error
	if o.issuer == "" {
		errs = append(errs, errors.New("cluster: -issuer is required"))
	}
	if o.clientID == "" {
		errs = append(errs, errors.New("cluster: -client-id is required"))
	}
	if _, err := checkPublicURL(o.publicURL); err != nil {
		errs = append(errs, fmt.Errorf("%w (-public-url is required: the load balancer's URL)", err))
	}
	key, err := decodeKey(o.key)
	if err != nil {
		errs = append(errs, err)
	}
	return key, errors.Join(errs...)
}

// decodeKey decodes the hex -key. It is required: replicas must share it,
// because the login cookie sealed by the replica that started a login is
// opened by whichever replica receives the OP's redirect.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("cluster: -key is required: every replica must use the same key (generate one with: openssl rand -hex 32)")
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("cluster: -key is not hex: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("cluster: -key has %d bytes, want at least 32", len(key))
	}
	return key, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.demo {
		err = runDemo(ctx, o)
	} else {
		err = runReplica(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runReplica runs one replica until ctx ends.
func runReplica(ctx context.Context, o options) error {
	key, err := o.checkReplica()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	name := o.name
	if name == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		name = host + ":" + port
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("replica", name)
	b, err := openBackend(ctx, o.store, o.prefix)
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := newReplica(ctx, appConfig{
		Name: name, Issuer: o.issuer, ClientID: o.clientID, ClientSecret: o.clientSecret,
		PublicURL: o.publicURL, Key: key, Store: b.Store, SingleUse: b.SingleUse, Logger: logger,
	})
	if err != nil {
		return err
	}
	fmt.Printf("replica %s listening on http://%s (public URL %s, %s store)\n", name, ln.Addr(), o.publicURL, b.Kind)
	return serve(ctx, ln, r)
}

// serve serves h on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// randomKey returns a fresh 32-byte key.
func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}
