package redisstore_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/oidc-slo/slo/internal/redistest"
)

// TestDependencies: the module, its tests included, depends on the
// sessionstore contract only, never on the logout or rp packages or on
// go-oidc (the store layer sits at the bottom of slo).
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		redistest.SkipOrFail(t, "go command not found: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-deps", "-test", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -test ./...: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || !strings.Contains(string(out), "github.com/oidc-slo/slo/sessionstore\n") {
		t.Fatalf("go list -deps printed no sessionstore dependency:\n%s", out)
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/oidc-slo/slo/logout", "github.com/oidc-slo/slo/rp", "github.com/coreos/go-oidc"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("the module depends on %s", dep)
			}
		}
	}
}
