package release

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

// WriteProxy writes a module proxy into dir that serves each of mods, as it
// stands in the working tree under root, at version v, in the layout the go
// command reads from GOPROXY=file://dir: <module>/@v/list, <v>.info, <v>.mod
// and <v>.zip (module paths escaped as the protocol says).
//
// A module's zip holds the files of its directory that git would commit
// (tracked files and untracked ones that are not ignored, with their
// working-tree contents), without nested modules, made by
// [zip.Create]; outside a git work tree, every file ([zip.CreateFromDir]).
// As the go command does for a module in a subdirectory of a git
// repository, a nested module without a LICENSE gets the root's.
//
// WriteProxy returns each module's go.sum hash (h1:…) by module path.
func WriteProxy(dir, root, v string, mods []Module) (map[string]string, error) {
	files, err := gitFiles(root)
	if err != nil {
		return nil, err
	}
	info := fmt.Sprintf("{\"Version\":%q,\"Time\":%q}\n", v, time.Now().UTC().Format(time.RFC3339))
	sums := make(map[string]string)
	for _, m := range mods {
		esc, err := module.EscapePath(m.Path)
		if err != nil {
			return nil, err
		}
		escV, err := module.EscapeVersion(v)
		if err != nil {
			return nil, err
		}
		vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, err
		}
		gomod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		for name, data := range map[string][]byte{"list": []byte(v + "\n"), escV + ".info": []byte(info), escV + ".mod": gomod} {
			if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
				return nil, err
			}
		}
		zipName := filepath.Join(vdir, escV+".zip")
		if err := writeZip(zipName, root, m, module.Version{Path: m.Path, Version: v}, files); err != nil {
			return nil, err
		}
		if sums[m.Path], err = dirhash.HashZip(zipName, dirhash.Hash1); err != nil {
			return nil, err
		}
	}
	return sums, nil
}

// FileURL returns the GOPROXY entry for a proxy in directory dir.
func FileURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

func writeZip(name, root string, m Module, mv module.Version, files []string) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if files == nil {
		return zip.CreateFromDir(f, mv, m.Dir)
	}
	var zfiles []zip.File
	prefix := ""
	if m.Rel != "." {
		prefix = m.Rel + "/"
	}
	haveLicense := false
	for _, p := range files {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		zfiles = append(zfiles, diskFile{rel, full, info})
		haveLicense = haveLicense || rel == "LICENSE"
	}
	if !haveLicense && m.Rel != "." {
		full := filepath.Join(root, "LICENSE")
		if info, err := os.Lstat(full); err == nil {
			zfiles = append(zfiles, diskFile{"LICENSE", full, info})
		}
	}
	return zip.Create(f, mv, zfiles)
}

// gitFiles returns the slash paths, relative to root, of the files git
// would commit there; nil if root is not in a git work tree.
func gitFiles(root string) ([]string, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, nil
	}
	cmd := exec.Command(gitBin, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "not a git repository") {
			return nil, nil
		}
		return nil, fmt.Errorf("release: git ls-files in %s: %w\n%s", root, err, stderr.Bytes())
	}
	files := []string{}
	for p := range strings.SplitSeq(string(out), "\x00") {
		if p != "" {
			files = append(files, p)
		}
	}
	return files, nil
}

// diskFile is a zip.File read from the working tree.
type diskFile struct {
	path string // in the zip, slash-separated
	full string // on disk
	info fs.FileInfo
}

func (f diskFile) Path() string                 { return f.path }
func (f diskFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.full) }
