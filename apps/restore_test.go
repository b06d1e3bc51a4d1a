package apps

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestRestore_StartsTheLiveReleaseAndTellsTheTruth(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	f.push(appFiles(t), "v2") // v1 drains
	if err := f.svc.Scale(t.Context(), "app", []ScaleChange{{Type: "web", Count: 2}}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	cut := &slipway.Release{App: "app", Kind: slipway.KindPush, Status: slipway.StatusBuilding}
	if err := f.db.CreateRelease(t.Context(), cut); err != nil { // a deploy the stop cut off
		t.Fatal(err)
	}
	f.stop()
	if got := f.get(http.DefaultClient); strings.HasPrefix(got, "200") {
		t.Fatalf("the app still answers after the stop: %q", got)
	}

	f.svc = f.start(releaser.Config{})
	if got := f.get(http.DefaultClient); !strings.HasPrefix(got, "200 release v2") {
		t.Errorf("after the restart got %q, want v2", got)
	}
	if n := len(f.processes()); n != 2 {
		t.Errorf("%d instances after the restart, want the 2 of ps:scale", n)
	}
	if got, want := f.statuses(), "v3:failed v2:live v1:retired"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
	if rel, _ := f.db.FindRelease(t.Context(), "app", 3); rel.Failure != interrupted {
		t.Errorf("cut deploy failure = %q", rel.Failure)
	}
}

func TestRestore_CarriesOverTheScaleOfStateJSON(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	f.stop()
	path := f.svc.layout.LegacyState("app")
	if err := os.WriteFile(path, []byte(`{"live":{"env":{"SECRET":"x"}},"scale":{"web":3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.svc = f.start(releaser.Config{})
	if n := len(f.processes()); n != 3 {
		t.Errorf("%d instances, want the 3 of the old state.json", n)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("state.json, which held config vars, is still there: %v", err)
	}
}
