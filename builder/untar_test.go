package builder

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one tar entry for makeTar.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ == tar.TypeXGlobalHeader { // as git archive writes it
			h = &tar.Header{Typeflag: e.typ, Name: e.name, PAXRecords: map[string]string{"comment": "0123abcd"}}
		} else if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil && e.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func untarInto(t *testing.T, dir string, entries ...entry) error {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	return untar(root, makeTar(t, entries...), treeLimits{})
}

func TestUntar_ExtractsFilesDirsAndLinks(t *testing.T) {
	dir := t.TempDir()
	err := untarInto(t, dir,
		entry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		entry{name: "src/", typ: tar.TypeDir, mode: 0o775},
		entry{name: "src/main.go", typ: tar.TypeReg, body: "package main\n", mode: 0o664},
		entry{name: "run", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o775},
		entry{name: "deep/er/file", typ: tar.TypeReg, body: "x"},
		entry{name: "link", typ: tar.TypeSymlink, link: "src/main.go"},
		entry{name: "src/up", typ: tar.TypeSymlink, link: "../run"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "link")); err != nil || string(data) != "package main\n" {
		t.Errorf("link reads %q, %v", data, err)
	}
	for name, want := range map[string]os.FileMode{"run": 0o755, "src/main.go": 0o644, "deep/er/file": 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v, want %v", name, fi.Mode().Perm(), err, want)
		}
	}
	if err := checkSymlinks(dir); err != nil {
		t.Errorf("checkSymlinks: %v", err)
	}
}

func TestUntar_RefusesEntriesLeavingTheTree(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dot-dot", []entry{{name: "../evil", typ: tar.TypeReg, body: "x"}}, "outside the repository"},
		{"nested dot-dot", []entry{{name: "a/../../evil", typ: tar.TypeReg, body: "x"}}, "outside the repository"},
		{"absolute", []entry{{name: "/tmp/evil", typ: tar.TypeReg, body: "x"}}, "outside the repository"},
		{"absolute symlink", []entry{{name: "passwd", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "points outside"},
		{"climbing symlink", []entry{{name: "a/up", typ: tar.TypeSymlink, link: "../../x"}}, "points outside"},
		{"write through climbing link chain", []entry{
			{name: "sub/root", typ: tar.TypeSymlink, link: ".."},
			{name: "x", typ: tar.TypeSymlink, link: "sub/root/.."}, // fine by name, not in fact
			{name: "x/escaped", typ: tar.TypeReg, body: "x"},
		}, "escapes"},
		{"hard link", []entry{{name: "h", typ: tar.TypeLink, link: "other"}}, "unsupported entry type"},
		{"device", []entry{{name: "dev", typ: tar.TypeChar}}, "unsupported entry type"},
		{"duplicate file", []entry{{name: "f", typ: tar.TypeReg}, {name: "f", typ: tar.TypeReg}}, "exists"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "tree")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := untarInto(t, dir, tt.entries...)
			if err == nil {
				err = checkSymlinks(dir)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 1 {
				t.Errorf("something was written next to the tree: %v", entries)
			}
		})
	}
}

func TestCheckSymlinks_CatchesClimbsThroughOtherLinks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		links map[string]string
		ok    bool
	}{
		{"link to root", map[string]string{"sub/root": ".."}, true},
		{"climb through link", map[string]string{"sub/root": "..", "x": "sub/root/.."}, false},
		{"dangling inside", map[string]string{"later": "build/out"}, true},
		{"dangling climb", map[string]string{"sub/root": "..", "y": "sub/root/../nowhere"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, target := range tt.links {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := checkSymlinks(dir); (err == nil) != tt.ok {
				t.Errorf("checkSymlinks = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
