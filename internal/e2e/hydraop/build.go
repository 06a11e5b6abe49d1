package hydraop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// ToolDir returns the directory of the module that pins Hydra
// (internal/e2e/hydra): next to this package's source, or, when the binary
// was built with -trimpath, found from the working directory (a test's
// working directory is its package directory, inside internal/e2e).
func ToolDir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", "hydra")
	}
	wd, err := os.Getwd()
	if err != nil {
		return "hydra"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		for _, rel := range []string{"hydra", filepath.Join("internal", "e2e", "hydra")} {
			cand := filepath.Join(dir, rel)
			if _, err := os.Stat(filepath.Join(cand, "go.mod")); err == nil {
				return cand
			}
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "hydra")
		}
	}
}

// Binary returns the path of the hydra executable, building it on the first
// call of the process: `go tool -n hydra` in ToolDir compiles the tool into
// the Go build cache if it is not there yet, and prints its path. The first
// build takes a minute or two; later ones, in this or another process, only
// look the binary up.
func Binary() (string, error) { return binary() }

var binary = sync.OnceValues(func() (string, error) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("hydraop: the go command is needed to build Hydra: %w", err)
	}
	cmd := exec.Command(gocmd, "tool", "-n", "hydra")
	cmd.Dir = ToolDir()
	// The tool module stands alone, whatever go.work may be around.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hydraop: building Hydra (go tool -n hydra in %s): %w\n%s", cmd.Dir, err, stderr.Bytes())
	}
	path := strings.TrimSpace(stdout.String())
	if path == "" || strings.ContainsAny(path, "\n") {
		return "", errors.New("hydraop: go tool -n hydra printed no single path: " + stdout.String())
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("hydraop: the built Hydra is missing: %w", err)
	}
	return path, nil
})
