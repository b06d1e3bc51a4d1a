package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// A second push while one deploys waits its turn and says so.
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
	for _, want := range []string{"Another deploy of queue is in progress", "v2 is live"} {
		if !strings.Contains(out, want) {
			t.Errorf("second push output lacks %q:\n%s", want, out)
		}
	}
	s.wantServes("queue", "/", "hello from second")
}
