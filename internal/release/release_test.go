package release

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// TestRequirements: every go.mod of the repository requires slo modules
// only at versions a module proxy can serve once the next release is out
// (a release version, at most Next, of a published module), and replaces
// none; a published go.mod has no replace at all, since a user's build
// ignores it.
func TestRequirements(t *testing.T) {
	_, mods := repo(t)
	published := make(map[string]bool)
	for _, m := range mods {
		if m.Published() {
			published[m.Path] = true
		}
	}
	for _, m := range mods {
		gomod := filepath.ToSlash(filepath.Join(m.Rel, "go.mod"))
		for _, r := range m.File.Require {
			p, v := r.Mod.Path, r.Mod.Version
			if !IsSLO(p) {
				continue
			}
			switch {
			case !published[p]:
				t.Errorf("%s requires %s, which is not published", gomod, p)
			case module.IsPseudoVersion(v), semver.Canonical(v) != v, semver.Prerelease(v) != "":
				t.Errorf("%s requires %s %s: not a release version (the next release is %s)", gomod, p, v, Next)
			case v == "v0.0.0":
				t.Errorf("%s requires %s v0.0.0, which no proxy serves (the next release is %s)", gomod, p, Next)
			case semver.Compare(v, Next) > 0:
				t.Errorf("%s requires %s %s, after the next release %s", gomod, p, v, Next)
			}
		}
		for _, r := range m.File.Replace {
			switch {
			case IsSLO(r.Old.Path):
				t.Errorf("%s replaces %s: the workspace (go.work) is where development uses the working tree", gomod, r.Old.Path)
			case m.Published():
				t.Errorf("%s replaces %s: a published module's replace lines are ignored in its users' builds", gomod, r.Old.Path)
			}
		}
	}
	if len(published) < 2 || !published[CorePath] {
		t.Errorf("published modules %v: want the core and the stores", published)
	}
}

// TestTidy: go mod tidy would change no go.mod or go.sum of the repository.
// It runs `go mod tidy -diff` in each module with GOWORK=off, which reports
// the changes tidy would make and writes nothing; a module that requires
// slo modules gets them from the file-system proxy (GoEnv), at Next. The
// go.sum lines of slo modules at Next are left out of the comparison: they
// are the hashes of the working tree, which change with every commit, and
// go.sum gets the released ones when the release is cut (RELEASING.md).
//
// With -fix (make tidy), it first runs go mod tidy in each module the same
// way and removes those lines from go.sum.
func TestTidy(t *testing.T) {
	_, mods := repo(t)
	goBin, env, _ := proxyEnv(t)
	plainEnv := append(os.Environ(), "GOWORK=off")
	for _, m := range mods {
		t.Run(m.Rel, func(t *testing.T) {
			t.Parallel()
			menv := plainEnv
			for _, r := range m.File.Require {
				if IsSLO(r.Mod.Path) {
					menv = env
				}
			}
			if *fix {
				goRun(t, m.Dir, menv, goBin, "mod", "tidy")
				dropUnreleasedSums(t, filepath.Join(m.Dir, "go.sum"))
			}
			cmd := exec.CommandContext(t.Context(), goBin, "mod", "tidy", "-diff")
			cmd.Dir, cmd.Env = m.Dir, menv
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			var exit *exec.ExitError
			switch {
			case err == nil:
				return
			case !errors.As(err, &exit) || len(out) == 0:
				if os.Getenv("CI") != "true" && offline(stderr.String()) {
					t.Skipf("go mod tidy -diff: a module proxy could not be reached: %s", stderr.Bytes())
				}
				t.Fatalf("go mod tidy -diff in %s: %v\n%s", m.Rel, err, stderr.Bytes())
			}
			if changes := tidyChanges(string(out)); len(changes) > 0 {
				t.Errorf("go mod tidy would change %s (run it there with GOWORK=off; see RELEASING.md for the slo versions):\n%s\nthe whole diff:\n%s",
					m.Rel, strings.Join(changes, "\n"), out)
			}
		})
	}
}

var fix = flag.Bool("fix", false, "TestTidy: tidy every module first")

// dropUnreleasedSums removes the go.sum lines of slo modules at Next from
// the file name, if it exists.
func dropUnreleasedSums(t *testing.T, name string) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var kept strings.Builder
	for line := range strings.Lines(string(data)) {
		if !unreleasedSum(line) {
			kept.WriteString(line)
		}
	}
	if kept.Len() != len(data) {
		if err := os.WriteFile(name, []byte(kept.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tidyChanges returns the changed lines of go mod tidy -diff's output,
// less the go.sum lines of slo modules at Next.
func tidyChanges(diff string) []string {
	var changes []string
	file := ""
	for line := range strings.Lines(diff) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "diff "):
			f := strings.Fields(line)
			file = filepath.Base(f[len(f)-1])
		case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "):
		case strings.HasPrefix(line, "+"), strings.HasPrefix(line, "-"):
			if file == "go.sum" && unreleasedSum(line[1:]) {
				continue
			}
			changes = append(changes, fmt.Sprintf("%s: %s", file, line))
		}
	}
	return changes
}

// unreleasedSum reports whether line is a go.sum line of an slo module at
// Next.
func unreleasedSum(line string) bool {
	f := strings.Fields(line)
	return len(f) == 3 && IsSLO(f[0]) && (f[1] == Next || f[1] == Next+"/go.mod")
}

// repo returns the repository root and its modules.
func repo(t *testing.T) (string, []Module) {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mods, err := Modules(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, mods
}

func publishedModules(mods []Module) []Module {
	var pub []Module
	for _, m := range mods {
		if m.Published() {
			pub = append(pub, m)
		}
	}
	return pub
}

// proxyEnv writes a file-system proxy serving the published modules at
// Next into a temporary directory and returns the go command and the
// environment that gets them from there (GoEnv), with a module cache of
// the test's own.
func proxyEnv(t *testing.T) (goBin string, env []string, sums map[string]string) {
	t.Helper()
	root, mods := repo(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	proxy := t.TempDir()
	sums, err = WriteProxy(proxy, root, Next, publishedModules(mods))
	if err != nil {
		t.Fatal(err)
	}
	env, err = GoEnv(goBin, proxy, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return goBin, env, sums
}

// goRun runs the go command in dir and returns its standard output. A
// failure fails the test, except outside CI when the go command could not
// reach a proxy it needed (this machine is offline and its module cache
// lacks a module): that skips it, with the reason.
func goRun(t *testing.T, dir string, env []string, goBin string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), goBin, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if os.Getenv("CI") != "true" && offline(msg) {
			t.Skipf("go %s: a module proxy could not be reached (offline, and the module cache lacks a module): %s", strings.Join(args, " "), msg)
		}
		t.Fatalf("go %s in %s: %v\n%s%s", strings.Join(args, " "), dir, err, out, msg)
	}
	return out
}

// offline reports whether the go command's error output says that a
// network request failed for want of a network.
func offline(stderr string) bool {
	for _, s := range []string{"dial tcp", "no such host", "network is unreachable", "i/o timeout", "connection refused"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}
