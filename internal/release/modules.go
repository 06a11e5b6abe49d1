package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// CorePath is the module path of slo's core module, at the repository root.
const CorePath = "github.com/oidc-slo/slo"

// IsSLO reports whether modPath is the path of the core module or of a
// module nested in the repository.
func IsSLO(modPath string) bool {
	return modPath == CorePath || strings.HasPrefix(modPath, CorePath+"/")
}

// Module is one Go module of the repository.
type Module struct {
	// Dir is the module's directory.
	Dir string
	// Rel is Dir relative to the repository root, slash-separated: "." for
	// the core module, "sessionstore/redisstore" for a nested one.
	Rel string
	// Path is the module path.
	Path string
	// File is the parsed go.mod.
	File *modfile.File
}

// Published reports whether the module is released for users: every
// module but those under internal/ or examples/ (tests, tools and programs
// that only run from the repository).
func (m Module) Published() bool {
	return m.Rel == "." || !(strings.HasPrefix(m.Rel, "internal/") || strings.HasPrefix(m.Rel, "examples/"))
}

// Tag returns the git tag that releases the module at version v:
// "v0.1.0" for the core, "sessionstore/redisstore/v0.1.0" for a nested one.
func (m Module) Tag(v string) string {
	if m.Rel == "." {
		return v
	}
	return m.Rel + "/" + v
}

// Root returns the repository's root directory: three levels above this
// file's directory, which is where the core module's go.mod is.
func Root() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		// Built with -trimpath: a test runs in its package's directory.
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		file = filepath.Join(wd, "modules.go")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	f, err := readModFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	if f.Module == nil || f.Module.Mod.Path != CorePath {
		return "", fmt.Errorf("release: %s is not the go.mod of %s", filepath.Join(root, "go.mod"), CorePath)
	}
	return root, nil
}

// Modules returns the repository's modules, the core first and then by
// directory: every directory under root holding a go.mod, except in
// node_modules, testdata and directories whose names start with "." or "_"
// (which the go command ignores too).
func Modules(root string) ([]Module, error) {
	var mods []Module
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		f, err := readModFile(p)
		if err != nil {
			return err
		}
		if f.Module == nil {
			return fmt.Errorf("release: %s has no module line", p)
		}
		dir := filepath.Dir(p)
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		mods = append(mods, Module{Dir: dir, Rel: filepath.ToSlash(rel), Path: f.Module.Mod.Path, File: f})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(mods, func(a, b Module) int {
		switch {
		case a.Rel == ".":
			return -1
		case b.Rel == ".":
			return 1
		}
		return strings.Compare(a.Rel, b.Rel)
	})
	if len(mods) == 0 || mods[0].Path != CorePath {
		return nil, errors.New("release: no core module at " + root)
	}
	for _, m := range mods {
		if want := path.Join(CorePath, m.Rel); m.Path != want {
			return nil, fmt.Errorf("release: the module in %s is %s; its directory makes it %s", m.Rel, m.Path, want)
		}
	}
	return mods, nil
}

func readModFile(name string) (*modfile.File, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return modfile.Parse(name, data, nil)
}
