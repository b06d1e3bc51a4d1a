package builder

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestBuild_CustomBuildScriptRuns(t *testing.T) {
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "mkdir -p out && echo built > out/result && echo \"home=$HOME\""}}`,
		"Procfile": "web: cat out/result\n",
	})
	b := newBuilder(t, 0)
	rel, out := mustBuild(t, b, 1, repo, sha)
	if got, want := rel.Kind, KindCustom; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	if rel.AppJSON == nil || rel.AppJSON.Scripts.Build == "" {
		t.Errorf("AppJSON = %+v, want the parsed app.json", rel.AppJSON)
	}
	if data, err := os.ReadFile(filepath.Join(rel.Dir, "out", "result")); err != nil || string(data) != "built\n" {
		t.Errorf("out/result = %q, %v", data, err)
	}
	if want := "       home=" + filepath.Join(b.cacheDir("hello"), "home") + "\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
}

func TestBuild_CustomBuildMayMakeAStaticSite(t *testing.T) {
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "mkdir -p public && echo '<h1>hi</h1>' > public/index.html"}}`,
	})
	b := newBuilder(t, 0)
	rel, _ := mustBuild(t, b, 1, repo, sha)
	if got, want := rel.Kind, KindCustom; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
	if got, want := rel.StaticDir, filepath.Join(rel.Dir, "public"); got != want {
		t.Errorf("StaticDir = %q, want %q", got, want)
	}
}

func TestBuild_CustomBuildWithoutProcessTypesFails(t *testing.T) {
	repo, sha := newRepo(t, files{"app.json": `{"scripts": {"build": "true"}}`})
	b := newBuilder(t, 0)
	_, _, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "build failed: no process types: add a Procfile (web: COMMAND)")
	assertNoLeftovers(t, b, "hello")
}

func TestBuild_FailingCustomBuildNamesTheStep(t *testing.T) {
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "echo compiling; exit 2"}}`,
		"Procfile": "web: ./server\n",
	})
	b := newBuilder(t, 0)
	_, out, err := build(t, b, 1, repo, sha)
	assertBuildFailed(t, err, "build failed: scripts.build: exit status 2")
	if !strings.Contains(out, "       compiling\n") {
		t.Errorf("output lacks the script's output")
	}
	assertNoLeftovers(t, b, "hello")
}

// Build steps run at a lower priority than the apps serving requests.
func TestBuild_StepsRunNiced(t *testing.T) {
	repo, sha := newRepo(t, files{
		"app.json": `{"scripts": {"build": "echo niceness=$(nice)"}}`,
		"Procfile": "web: true\n",
	})
	_, out := mustBuild(t, newBuilder(t, 0), 1, repo, sha)
	if want := "niceness=" + strconv.Itoa(BuildNice); !strings.Contains(out, want) {
		t.Errorf("build output lacks %q:\n%s", want, out)
	}
}
