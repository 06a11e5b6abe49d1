package hydraop

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Options configure one Hydra.
type Options struct {
	// Host is the issuer's host: "localhost" (the default), so that
	// Hydra's pages are cross-site to applications on 127.0.0.1, as they
	// are in production, or "127.0.0.1". Hydra listens on 127.0.0.1 either
	// way.
	Host string
	// Subject is the user the login app signs in. Default "alice".
	Subject string
}

func (o Options) withDefaults() (Options, error) {
	if o.Host == "" {
		o.Host = "localhost"
	}
	if o.Subject == "" {
		o.Subject = "alice"
	}
	if o.Host != "localhost" && o.Host != "127.0.0.1" {
		return o, fmt.Errorf("hydraop: Host %q is neither localhost nor 127.0.0.1, where Hydra listens", o.Host)
	}
	return o, nil
}

// ports are the two loopback ports one Hydra listens on.
type ports struct{ public, admin int }

// freePorts asks the kernel for two free loopback ports. They are free when
// asked; Start retries with new ones if Hydra finds one taken.
func freePorts() (ports, error) {
	var p [2]int
	for i := range p {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("hydraop: finding a free port: %w", err)
		}
		defer ln.Close() // both held until both are known, so they differ
		p[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{public: p[0], admin: p[1]}, nil
}

// config is Hydra's configuration file (JSON, which Hydra reads by the
// file's extension). The database DSN is passed in the environment ($DSN).
func config(o Options, p ports, ui string) ([]byte, error) {
	if ui == "" {
		return nil, errors.New("hydraop: no UI URL")
	}
	issuer := "http://" + net.JoinHostPort(o.Host, strconv.Itoa(p.public))
	cfg := map[string]any{
		"serve": map[string]any{
			// Loopback only; Host merely names 127.0.0.1.
			"public": map[string]any{"host": "127.0.0.1", "port": p.public},
			"admin":  map[string]any{"host": "127.0.0.1", "port": p.admin},
			// With dev, Hydra's own cookies are SameSite=Lax and not
			// Secure, so they work over http; Lax is also what its
			// redirects through the apps on other sites need (top-level
			// GET navigations).
			"cookies": map[string]any{"same_site_mode": "Lax"},
		},
		"urls": map[string]any{
			"self": map[string]any{
				// No trailing slash: Hydra uses the value as written in
				// discovery and in every iss claim, and slo compares
				// issuers exactly.
				"issuer": issuer,
				"public": issuer,
			},
			"login":                ui + "/login",
			"consent":              ui + "/consent",
			"logout":               ui + "/logout",
			"error":                ui + "/error",
			"post_logout_redirect": ui + SignedOutPath,
		},
		"secrets": map[string]any{"system": []string{rand.Text()}},
		"oidc": map[string]any{
			"subject_identifiers": map[string]any{"supported_types": []string{"public"}},
		},
		// Back-channel logout calls go to applications on loopback. Hydra
		// v2.3.0 would refuse private and loopback addresses (at client
		// registration and when calling) only with this set to true; false
		// is its default, set here so that the tests do not depend on it.
		"clients": map[string]any{
			"http": map[string]any{"disallow_private_ip_ranges": false},
		},
		// Errors shown on the error app with their cause.
		"oauth2": map[string]any{"expose_internal_errors": true},
		// JSON lines, which Server parses for the back-channel results.
		"log": map[string]any{"level": "info", "format": "json"},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("hydraop: encoding configuration: %w", err)
	}
	return b, nil
}
