package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEProgramBuilds builds the program of README.md's "Use it in
// your application" section, as it stands, against this working tree, in a
// module of its own outside the repository.
func TestREADMEProgramBuilds(t *testing.T) {
	src, err := Program("Use it in your application")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimLeft(src, "/ \n"), "Command") || !strings.Contains(src, "package main") {
		t.Fatalf("the README's program is not a complete program:\n%s", src)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	dir := t.TempDir()
	root, _ := filepath.Abs(Root())
	mod := "module readmeapp\n\ngo 1.25.0\n\nrequire github.com/oidc-slo/slo v0.0.0\n\nreplace github.com/oidc-slo/slo => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-mod=mod", "-o", filepath.Join(dir, "app"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the README's program failed: %v\n%s\n%s", err, out, src)
	}
}
