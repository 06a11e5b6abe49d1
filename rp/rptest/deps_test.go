package rptest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports: rptest must not import slo's rp, logout, middleware or
// sessionstore packages, so that their own tests can use it without an
// import cycle.
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-deps", "github.com/oidc-slo/slo/rp/rptest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(dep, "github.com/oidc-slo/slo/")
		if !ok {
			continue
		}
		if rest != "rp/rptest" && !strings.HasPrefix(rest, "internal/") {
			t.Errorf("rptest depends on %s", dep)
		}
	}
}
