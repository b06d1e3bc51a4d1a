package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway/slipway/internal/testutil"
)

// A static site is served by slipway itself, with no process.
func TestPush_StaticSiteIsServedBySlipway(t *testing.T) {
	s := startServer(t)
	dir := s.newApp(map[string]string{
		"public/index.html": "<h1>static v1</h1>\n",
		"public/about.html": "about us\n",
	})
	out := s.mustGit(dir, "push", s.remote("site"), "main")
	if !strings.Contains(out, "Serving static files") {
		t.Errorf("push output does not say the site is static:\n%s", out)
	}
	s.wantServes("site", "/", "static v1")
	s.wantServes("site", "/about.html", "about us")
}

// A Go app is built with go build and run as its binary.
func TestPush_GoAppIsBuiltAndRun(t *testing.T) {
	testutil.SkipIfShortCompile(t)
	s := startServer(t)
	dir := s.newApp(map[string]string{
		"go.mod": "module example.com/goapp\n\ngo 1.22\n",
		"main.go": `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "go app %s at %s for %s", os.Getenv("SLIPWAY_RELEASE"), os.Getenv("SLIPWAY_COMMIT")[:7], r.Host)
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}
`,
	})
	out := s.mustGit(dir, "push", s.remote("goapp"), "main")
	if !strings.Contains(out, "Detected Go app") {
		t.Errorf("push output does not name the Go build:\n%s", out)
	}
	s.wantServes("goapp", "/", "go app v1 at ")
	s.wantServes("goapp", "/", "for goapp."+testDomain)
	// The release directory is read-only and the build cache is outside it.
	rel := filepath.Join(s.dataDir, "apps", "goapp", "releases", "v1")
	filepath.WalkDir(rel, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return err
		}
		if info, err := d.Info(); err == nil && d.Type()&os.ModeSymlink == 0 && info.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable (%v): releases must be read-only", path, info.Mode().Perm())
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(s.dataDir, "apps", "goapp", "cache")); err != nil {
		t.Errorf("no build cache outside the release: %v", err)
	}
}

// A second push while one deploys waits its turn and says so; once the
// first has moved main, the second is refused as git would refuse it,
// before anything is built, and the first stays live.
func TestPush_SecondPushWaitsForDeployInProgress(t *testing.T) {
	s := startServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	slow := staticApp("slow")
	slow["app.json"] = `{"scripts":{"build":"echo building; while [ ! -e ` + gate + ` ]; do sleep 0.05; done"}}`
	first := s.newApp(slow)
	second := s.newApp(staticApp("second"))

	firstDone := make(chan string, 1)
	go func() {
		out, err := s.git(first, "push", s.remote("queue"), "main")
		if err != nil {
			out += "\nerror: " + err.Error()
		}
		firstDone <- out
	}()
	waitFor(t, "the first build to start", func() bool {
		return strings.Contains(s.logText(), `msg="build started" app=queue`)
	})
	secondDone := make(chan string, 1)
	go func() {
		out, _ := s.git(second, "push", "--force", s.remote("queue"), "main")
		secondDone <- out
	}()
	waitFor(t, "the second push to wait", func() bool {
		return strings.Contains(s.logText(), `msg="deploy waiting for the one in progress" component=releaser app=queue`)
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := <-firstDone; !strings.Contains(out, "v1 is live") {
		t.Fatalf("first push did not go live:\n%s", out)
	}
	out := <-secondDone
	for _, want := range []string{"Another deploy of queue is in progress", "main moved while you waited: fetch, merge and push again", "[remote rejected]"} {
		if !strings.Contains(out, want) {
			t.Errorf("second push output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "v2 is live") {
		t.Errorf("the stale push was deployed:\n%s", out)
	}
	s.wantServes("queue", "/", "hello from slow")
}

// Two clones push to one app at once: one push goes live, the other is
// refused with a line saying what to do, and the branch in the repository
// always holds what is live. After a pull the refused one goes through.
func TestPush_ConcurrentPushesFromTwoClonesNeverDisagree(t *testing.T) {
	s := startServer(t)
	gate := filepath.Join(t.TempDir(), "gate")
	base := staticApp("base")
	base["app.json"] = `{"scripts":{"build":"while [ ! -e ` + gate + ` ]; do sleep 0.05; done"}}`
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	seed := s.newApp(base)
	s.mustGit(seed, "push", s.remote("pair"), "main")
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}
	var clones []string
	for _, name := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), name)
		s.mustGit("", "clone", "-q", s.remote("pair"), dir)
		s.commit(dir, "add "+name, map[string]string{name + ".html": "from " + name + "\n"})
		clones = append(clones, dir)
	}
	outs := make([]chan string, len(clones))
	for i, dir := range clones {
		outs[i] = make(chan string, 1)
		go func() {
			out, err := s.git(dir, "push", "origin", "main")
			if err != nil {
				out += "\nerror: " + err.Error()
			}
			outs[i] <- out
		}()
	}
	waitFor(t, "one push to build while the other waits", func() bool {
		return strings.Contains(s.logText(), `msg="deploy waiting for the one in progress" component=releaser app=pair`)
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := []string{<-outs[0], <-outs[1]}
	won, lost := 0, 1
	if strings.Contains(res[0], "main moved while you waited") {
		won, lost = 1, 0
	}
	if !strings.Contains(res[won], "v2 is live") || strings.Contains(res[won], "error:") {
		t.Fatalf("the first push did not go live:\n%s", res[won])
	}
	if !strings.Contains(res[lost], "main moved while you waited: fetch, merge and push again") ||
		!strings.Contains(res[lost], "[remote rejected]") || strings.Contains(res[lost], "Building") {
		t.Fatalf("the second push was not refused before its build:\n%s", res[lost])
	}
	s.wantAgree("pair", 2)

	s.mustGit(clones[lost], "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
	if out := s.mustGit(clones[lost], "push", "origin", "main"); !strings.Contains(out, "v3 is live") {
		t.Fatalf("the push after a pull did not go live:\n%s", out)
	}
	s.wantAgree("pair", 3)
	s.wantServes("pair", "/a.html", "from a")
	s.wantServes("pair", "/b.html", "from b")
}

// wantAgree checks that app has n releases and that its main branch holds
// the live one's commit.
func (s *server) wantAgree(app string, n int) {
	s.t.Helper()
	out, err := s.ssh(s.key, "releases", app, "--json")
	if err != nil {
		s.t.Fatalf("releases: %v\n%s", err, out)
	}
	var rels []struct {
		Commit string `json:"commit"`
		Live   bool   `json:"live"`
	}
	if err := json.Unmarshal([]byte(out), &rels); err != nil {
		s.t.Fatalf("releases --json: %v\n%s", err, out)
	}
	main := s.mustGit("", "ls-remote", s.remote(app), "refs/heads/main")
	if len(rels) != n || !rels[0].Live || !strings.HasPrefix(main, rels[0].Commit) {
		s.t.Errorf("releases %+v, main %q: want %d releases, the newest live and on main", rels, main, n)
	}
}
