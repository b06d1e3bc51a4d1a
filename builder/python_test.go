package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRelocateVenv_RewritesScriptsAndConfig(t *testing.T) {
	from, to := "/data/apps/a/releases/.v1.tmp-123", "/data/apps/a/releases/v1"
	venv := t.TempDir()
	writeFiles(t, venv, files{
		"bin/pip":        "#!" + from + "/.venv/bin/python3\nimport sys\n",
		"bin/long":       "#!/bin/sh\n'''exec' \"" + from + "/.venv/bin/python3\" \"$0\" \"$@\"\n' '''\n",
		"bin/activate":   "VIRTUAL_ENV=\"" + from + "/.venv\"\n",
		"bin/binary":     "\x00" + from,
		"bin/untouched":  "#!/bin/sh\necho hi\n",
		"pyvenv.cfg":     "home = /usr/bin\ncommand = /usr/bin/python3 -m venv " + from + "/.venv\n",
		"lib/other.py":   from, // only bin/ and pyvenv.cfg are rewritten
		"bin/sub/nested": from,
	})
	if err := os.Symlink("/usr/bin/python3", filepath.Join(venv, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	if err := relocateVenv(venv, from, to); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(venv, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, name := range []string{"bin/pip", "bin/long", "bin/activate", "pyvenv.cfg"} {
		if got := read(name); strings.Contains(got, from) || !strings.Contains(got, to+"/.venv") {
			t.Errorf("%s = %q, want %q replaced by %q", name, got, from, to)
		}
	}
	if got := read("bin/binary"); got != "\x00"+from {
		t.Errorf("binary file rewritten: %q", got)
	}
	if fi, err := os.Stat(filepath.Join(venv, "bin", "pip")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/pip lost its mode: %v, %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(venv, "bin", "python3")); err != nil || target != "/usr/bin/python3" {
		t.Errorf("python3 symlink = %q, %v", target, err)
	}
}

// When DataDir is reached through a symlink, python records the resolved
// path of the virtualenv (its working directory), not the one slipway used.
func TestSessionRelocateVenv_FollowsSymlinkedDataDir(t *testing.T) {
	realDir := t.TempDir()
	link := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(realDir, link); err != nil {
		t.Fatal(err)
	}
	s := &session{tmp: filepath.Join(link, ".v1.tmp-9"), final: filepath.Join(link, "v1")}
	realTmp := filepath.Join(realDir, ".v1.tmp-9")
	writeFiles(t, realTmp, files{
		".venv/bin/pip":   "#!" + realTmp + "/.venv/bin/python\n",
		".venv/bin/other": "#!" + s.tmp + "/.venv/bin/python\n",
	})
	if err := s.relocateVenv(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"pip":   "#!" + filepath.Join(realDir, "v1") + "/.venv/bin/python\n",
		"other": "#!" + s.final + "/.venv/bin/python\n",
	} {
		if data, err := os.ReadFile(filepath.Join(realTmp, ".venv", "bin", name)); err != nil || string(data) != want {
			t.Errorf("%s = %q, %v, want %q", name, data, err, want)
		}
	}
}

// A package index this host cannot reach fails the build within a retry,
// with one line naming the config var that points builds at another.
func TestBuild_UnreachableIndexNamesTheVar(t *testing.T) {
	repo, sha := newRepo(t, files{"requirements.txt": "slipway-no-such-package\n", "Procfile": "web: true\n"})
	b := newBuilder(t, 0)
	var out syncBuffer
	_, err := b.Build(t.Context(), Request{App: "hello", Version: 1, Commit: sha, RepoDir: repo,
		Env: map[string]string{"PIP_INDEX_URL": "http://127.0.0.1:9/simple"}}, &out)
	if err == nil || !strings.Contains(err.Error(), "point builds at one this host reaches: config:set hello PIP_INDEX_URL=URL") {
		t.Fatalf("Build = %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "Retrying"); n > 1 {
		t.Errorf("pip retried %d times, want at most once:\n%s", n, out.String())
	}
}
