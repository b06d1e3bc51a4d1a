package builder

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// buildGo builds every main package of the module into bin/. The build
// and module caches live in the app's cache directory, so a second push
// only compiles what changed.
func (s *session) buildGo(ctx context.Context) error {
	env := s.env(
		"GOCACHE="+filepath.Join(s.cache, "go-build"),
		"GOMODCACHE="+filepath.Join(s.cache, "go-mod"),
		"GOTOOLCHAIN=local", // never download a toolchain mid-push
		"GOFLAGS=-mod=mod",
	)
	// -buildvcs=false: the tree has no .git, and a DataDir inside some
	// other checkout must not stamp that checkout into the binaries.
	// -v names each package compiled, which packageProgress shows.
	args := []string{"go", "build", "-buildvcs=false", "-o", "bin/", "./..."}
	return s.run(ctx, command{
		step:   "go build",
		header: "Running " + strings.Join(args, " "),
		args:   slices.Insert(slices.Clone(args), 2, "-v"),
		env:    env,
		progress: func(w io.Writer) io.Writer {
			return &packageProgress{w: w, every: progressEvery}
		},
	})
}

// progressEvery is how often a Go build says which package it compiles.
var progressEvery = 2 * time.Second

// packageProgress shows go build -v's output as progress: of the package
// names it prints, one every so often with the count so far, so that a
// first build (hundreds of packages) says what it does in a few lines.
// Every other line (a compile error) passes as it is.
type packageProgress struct {
	w       io.Writer
	every   time.Duration
	partial []byte
	count   int
	last    time.Time
}

func (p *packageProgress) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(p.partial[:i])
		p.partial = p.partial[i+1:]
		if line == "" || strings.ContainsAny(line, " \t:") {
			fmt.Fprintln(p.w, line)
			continue
		}
		p.count++
		if now := time.Now(); now.Sub(p.last) >= p.every {
			p.last = now
			fmt.Fprintf(p.w, "compiling %s (%d packages so far)\n", line, p.count)
		}
	}
}

// goDefaultWeb returns the default web command of a built Go app: its
// binary, when go build made exactly one. Otherwise it returns a hint saying
// what to add.
func goDefaultWeb(dir string) (web, hint string) {
	bins := binaries(filepath.Join(dir, "bin"))
	switch len(bins) {
	case 1:
		return "bin/" + bins[0], ""
	case 0:
		return "", "go build made no binary in bin/: add a main package, or a Procfile (web: COMMAND)"
	}
	return "", fmt.Sprintf("go build made %d binaries in bin/ (%s): add a Procfile naming the web one (web: bin/NAME)",
		len(bins), strings.Join(bins, ", "))
}

// binaries returns the names of the executable regular files in dir.
func binaries(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			names = append(names, e.Name())
		}
	}
	return names
}
