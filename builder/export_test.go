package builder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pre-receive hook sees the pushed objects only through the variables
// git gives it; Build must pass Request.GitEnv to git.
func TestBuild_ReadsObjectsThroughGitEnv(t *testing.T) {
	work, sha := newRepo(t, files{"Procfile": "web: ./server\n"})
	empty := t.TempDir()
	git(t, empty, "init", "--quiet", "--bare")
	b := newBuilder(t, 0)

	_, _, err := build(t, b, 1, empty, sha)
	assertBuildFailed(t, err, "build failed: git archive: exit status 128")
	assertNoLeftovers(t, b, "hello")

	var out syncBuffer
	req := Request{App: "hello", Version: 1, Commit: sha, RepoDir: empty,
		GitEnv: []string{"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(work, "objects")}}
	rel, err := b.Build(t.Context(), req, &out)
	if err != nil {
		t.Fatalf("Build with GitEnv: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(rel.Dir, "Procfile")); err != nil {
		t.Error(err)
	}
}

func TestBuild_RefusesSymlinkOutOfTheRepository(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "--quiet")
	writeFiles(t, work, files{"index.html": "hi"})
	if err := os.Symlink("/etc/passwd", filepath.Join(work, "passwd")); err != nil {
		t.Fatal(err)
	}
	repo, sha := commitAndPush(t, work)
	b := newBuilder(t, 0)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, `build failed: export: "passwd": symlink to "/etc/passwd" points outside the repository`)
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_KeepsSymlinksInsideTheRepository(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "--quiet")
	writeFiles(t, work, files{"site/index.html": "hi", "run.sh": "#!/bin/sh\n"})
	if err := os.Symlink("site", filepath.Join(work, "public")); err != nil {
		t.Fatal(err)
	}
	repo, sha := commitAndPush(t, work)
	b := newBuilder(t, 0)
	rel, _ := mustBuild(t, b, 1, repo, sha)
	if target, err := os.Readlink(filepath.Join(rel.Dir, "public")); err != nil || target != "site" {
		t.Errorf("public -> %q, %v", target, err)
	}
	if !strings.HasSuffix(rel.StaticDir, "public") {
		t.Errorf("StaticDir = %q", rel.StaticDir)
	}
}
