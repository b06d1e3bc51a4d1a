package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A push bigger than --max-push-size is refused while it arrives, and a
// tree with more files than --max-tree-files is refused with the numbers;
// neither leaves an app behind.
func TestPushLimits_SizeAndFilesAreBounded(t *testing.T) {
	s := startServer(t, "--max-push-size", "200K", "--max-tree-files", "50")
	big := staticApp("v1")
	noise := make([]byte, 1<<20)
	rand.Read(noise)
	big["noise.bin"] = string(noise)
	dir := s.newApp(big)
	out, err := s.git(dir, "push", s.remote("huge"), "main")
	if err == nil || !strings.Contains(out, "pack exceeds maximum allowed size") {
		t.Errorf("a 1 MiB push with --max-push-size 200K: %v\n%s", err, out)
	}
	many := staticApp("v1")
	for i := range 100 {
		many[fmt.Sprintf("files/f%03d.txt", i)] = "x"
	}
	dir = s.newApp(many)
	out, err = s.git(dir, "push", s.remote("many"), "main")
	if err == nil || !strings.Contains(out, "more than 50 files and directories") {
		t.Errorf("a push of 100 files with --max-tree-files 50: %v\n%s", err, out)
	}
	if list, _ := s.ssh(s.key, "apps:list"); strings.Contains(list, "huge") || strings.Contains(list, "many") {
		t.Errorf("refused first pushes left apps:\n%s", list)
	}
	for _, app := range []string{"huge", "many"} {
		if _, err := os.Stat(filepath.Join(s.dataDir, "repos", app+".git")); !os.IsNotExist(err) {
			t.Errorf("the repository of %s is left: %v", app, err)
		}
	}
}

// A rejected first push leaves no app, repository or history; the next
// push makes the app at v1. An app made with apps:create stays.
func TestPushLimits_RejectedFirstPushLeavesNoApp(t *testing.T) {
	s := startServer(t)
	broken := map[string]string{"README": "no Procfile, nothing to run\n"}
	dir := s.newApp(broken)
	if out, err := s.git(dir, "push", s.remote("ghost"), "main"); err == nil || !strings.Contains(out, "Push rejected: the app has no live release yet.") {
		t.Fatalf("a push with nothing to run: %v\n%s", err, out)
	}
	if list, _ := s.ssh(s.key, "apps:list"); strings.Contains(list, "ghost") {
		t.Errorf("apps:list after a rejected first push:\n%s", list)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "repos", "ghost.git")); !os.IsNotExist(err) {
		t.Errorf("the repository is left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "apps", "ghost")); !os.IsNotExist(err) {
		t.Errorf("the app dir is left: %v", err)
	}
	s.commit(dir, "now it runs", staticApp("v1"))
	if out := s.mustGit(dir, "push", s.remote("ghost"), "main"); !strings.Contains(out, "v1 is live") {
		t.Errorf("the next push is not v1:\n%s", out)
	}
	os.Remove(filepath.Join(dir, "Procfile"))
	s.commit(dir, "broken again", map[string]string{"README": "nothing to run again\n"})
	s.mustGit(dir, "rm", "-q", "--cached", "--ignore-unmatch", "Procfile", "index.html")
	s.mustGit(dir, "commit", "-q", "--allow-empty", "-m", "no Procfile")
	if out, err := s.git(dir, "push", s.remote("ghost"), "main"); err == nil || !strings.Contains(out, "Push rejected: the live release keeps serving.") {
		t.Errorf("a failed push to a live app: %v\n%s", err, out)
	}

	out, err := s.ssh(s.key, "apps:create", "made")
	if want := "git remote add deploy ssh://git@" + testDomain + ":" + s.sshPort() + "/made"; err != nil || !strings.Contains(out, want) {
		t.Fatalf("apps:create: %v, want it to say %q\n%s", err, want, out)
	}
	other := s.newApp(broken)
	s.git(other, "push", s.remote("made"), "main")
	if list, _ := s.ssh(s.key, "apps:list"); !strings.Contains(list, "made") {
		t.Errorf("a rejected push removed an app made with apps:create:\n%s", list)
	}
}

// A huge commit subject and author name are kept cut, with a mark.
func TestPushLimits_SubjectAndAuthorAreTruncated(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(staticApp("v1"))
	s.mustGit(dir, "commit", "-q", "--allow-empty", "-m", strings.Repeat("S", 100<<10))
	s.mustGit(dir, "push", s.remote("long"), "main")
	out, err := s.ssh(s.key, "releases", "long", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rels []struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal([]byte(out), &rels); err != nil || len(rels) == 0 {
		t.Fatalf("releases --json: %v\n%.300s", err, out)
	}
	if got := rels[0].Subject; len(got) > 4<<10 || !strings.HasSuffix(got, "[truncated]") {
		t.Errorf("stored subject is %d bytes, ends %q", len(got), got[max(len(got)-20, 0):])
	}
}
