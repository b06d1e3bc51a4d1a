package apps

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestDeploy_PushGoesLiveWithItsHistory(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	out := f.push(appFiles(t), "first version")
	if !strings.Contains(out, "-----> Deploying app") || !strings.Contains(out, "v1 is live at http://app.test/") {
		t.Errorf("deploy output:\n%s", out)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v1 web.1") {
		t.Errorf("got %q", got)
	}
	rel, err := f.db.FindRelease(t.Context(), "app", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Status != slipway.StatusLive || rel.Subject != "first version" || rel.Author != "Test <test@example.com>" ||
		rel.PusherComment != "tester" || rel.Dir == "" || rel.StartedAt.IsZero() || rel.BuildDuration <= 0 || len(rel.Spec) == 0 {
		t.Errorf("history record = %+v", rel)
	}
	log, _ := os.ReadFile(rel.LogPath)
	if !strings.Contains(string(log), "v1 is live") {
		t.Errorf("build log = %q, want the whole output", log)
	}
}

func TestDeploy_StalePushIsRefusedBeforeItsBuild(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	stale := f.commit(appFiles(t), "built on an old main")
	stale.OldSHA = strings.Repeat("0", 40) // what the client saw before v1
	_, err := f.deploy(stale)
	if slipway.ErrorCode(err) != slipway.ECONFLICT || slipway.ErrorMessage(err) != "main moved while you waited: fetch, merge and push again" {
		t.Errorf("err = %v, want the refusal of a stale push", err)
	}
	if got := f.statuses(); got != "v1:live" {
		t.Errorf("history = %q: a refused push must record nothing", got)
	}
}

// Git moves the branch only after the hook has answered, which is after
// the app's lock is free: a push that waited must count the deployed one
// as having moved the branch already.
func TestDeploy_BranchNotYetWrittenCountsAsMoved(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	first := f.commit(appFiles(t), "first")
	var out strings.Builder
	if err := f.svc.Deploy(t.Context(), first, &out); err != nil { // git has not written main yet
		t.Fatalf("deploy: %v\n%s", err, out.String())
	}
	waited := first
	waited.NewSHA = f.commit(appFiles(t), "second").NewSHA
	if _, err := f.deploy(waited); slipway.ErrorCode(err) != slipway.ECONFLICT {
		t.Errorf("err = %v, want ECONFLICT", err)
	}
}

func TestDeploy_FailedBuildIsRecordedAndLiveKeepsServing(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	broken := appFiles(t)
	broken["app.json"] = `{"scripts":{"build":"echo compiling; exit 3"}}`
	out, err := f.deploy(f.commit(broken, "broken"))
	if err == nil || !strings.Contains(out, "compiling") {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
	rel, _ := f.db.FindRelease(t.Context(), "app", 2)
	if rel.Status != slipway.StatusFailed || !strings.Contains(rel.Failure, "build failed") || rel.FinishedAt.IsZero() {
		t.Errorf("failed release = %+v", rel)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("got %q, want v1 still live", got)
	}
}

// "router" writes the router's access lines in an app's log (logs -p
// router): a push whose Procfile has a type of that name is refused in one
// line that says what to do, and the live release serves on.
func TestDeploy_ProcfileTypeRouterIsRefusedAndLiveKeepsServing(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	files := appFiles(t)
	files["Procfile"] += "router: exec sleep 1000\n"
	out, err := f.deploy(f.commit(files, "a router of its own"))
	msg := slipway.ErrorMessage(err)
	if err == nil || strings.ContainsAny(msg, "\n\r") ||
		!strings.Contains(msg, `line 2: process type "router" is reserved for the router's access lines (logs -p router): rename it`) {
		t.Fatalf("err = %q, want the refusal in one line; output:\n%s", msg, out)
	}
	if got := f.statuses(); got != "v2:failed v1:live" {
		t.Errorf("history = %q", got)
	}
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v1") {
		t.Errorf("got %q, want v1 still live", got)
	}
}
