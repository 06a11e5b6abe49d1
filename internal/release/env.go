package release

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoEnv returns the environment for go commands that must get the slo
// modules from the file-system proxy in proxyDir (see [WriteProxy]) and
// nowhere else, as a user's go command gets them from a module proxy:
//
//   - GOWORK=off: no go.work, so no working tree;
//   - GOMODCACHE=modCache, a module cache of their own: the go command
//     trusts a version it has cached, so the slo versions served from the
//     working tree, which change with it, must never enter the user's
//     module cache;
//   - GOPROXY: proxyDir first; then the user's module cache, read as a
//     proxy (its cache/download directory has the proxy layout), so that
//     no other module is fetched again; then the proxies of `go env
//     GOPROXY`, less direct and off (no slo module is to be fetched from
//     its repository);
//   - GONOSUMDB=github.com/oidc-slo/* (the checksum database knows nothing
//     of versions served from the working tree), GOPRIVATE and GONOPROXY
//     empty (else slo modules would bypass the proxies);
//   - GOFLAGS: the user's, less any -mod, plus -mod=mod (go.sum is written
//     as needed) and -modcacherw (so that modCache can be removed).
func GoEnv(goBin, proxyDir, modCache string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(goBin, "env", "GOPROXY", "GOMODCACHE", "GOFLAGS")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("release: go env: %w\n%s", err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 {
		return nil, fmt.Errorf("release: go env printed %q", out)
	}
	goproxy, cache, goflags := lines[0], lines[1], lines[2]

	proxies := []string{FileURL(proxyDir)}
	if cache != "" {
		proxies = append(proxies, FileURL(filepath.Join(cache, "cache", "download")))
	}
	for p := range strings.FieldsFuncSeq(goproxy, func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			proxies = append(proxies, p)
		}
	}
	flags := []string{"-mod=mod", "-modcacherw"}
	for f := range strings.FieldsSeq(goflags) {
		if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "--mod=") && f != "-modcacherw" {
			flags = append(flags, f)
		}
	}

	set := map[string]string{
		"GOWORK":     "off",
		"GOMODCACHE": modCache,
		"GOPROXY":    strings.Join(proxies, ","),
		"GONOSUMDB":  "github.com/oidc-slo/*",
		"GOPRIVATE":  "",
		"GONOPROXY":  "",
		"GOFLAGS":    strings.Join(flags, " "),
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := set[name]; !ok {
			env = append(env, kv)
		}
	}
	for name, v := range set {
		env = append(env, name+"="+v)
	}
	return env, nil
}
