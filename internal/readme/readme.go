// Package readme reads the Go programs that README.md shows, so that tests
// can build them exactly as they stand there and they cannot rot.
package readme

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Root returns the repository's root directory: where README.md is.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Program returns the first ```go block of README.md's section whose
// heading is heading (without the leading #s).
func Program(heading string) (string, error) {
	b, err := os.ReadFile(filepath.Join(Root(), "README.md"))
	if err != nil {
		return "", err
	}
	text := string(b)
	i := strings.Index(text, "\n## "+heading+"\n")
	if i < 0 {
		return "", fmt.Errorf("readme: no section %q in README.md", heading)
	}
	text = text[i+1:]
	if next := strings.Index(text[3:], "\n## "); next >= 0 {
		text = text[:next+3]
	}
	start := strings.Index(text, "```go\n")
	if start < 0 {
		return "", errors.New("readme: no Go block in section " + heading)
	}
	text = text[start+len("```go\n"):]
	end := strings.Index(text, "\n```")
	if end < 0 {
		return "", errors.New("readme: unterminated Go block in section " + heading)
	}
	return text[:end+1], nil
}
