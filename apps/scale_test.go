package apps

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestScale_KeepsCountsAndChecksAllFirst(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	if err := f.svc.Scale(t.Context(), "app", []ScaleChange{{Type: "web", Count: 2}}, &out); err != nil {
		t.Fatal(err)
	}
	if n := len(f.processes()); n != 2 {
		t.Errorf("%d instances after web=2", n)
	}
	// A bad change among good ones applies none of them.
	err := f.svc.Scale(t.Context(), "app", []ScaleChange{{Type: "web", Count: 3}, {Type: "worker", Count: 1}}, &out)
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), `no process type "worker"`) {
		t.Errorf("err = %v, want the missing worker type", err)
	}
	if n := len(f.processes()); n != 2 {
		t.Errorf("%d instances after a refused scale, want 2", n)
	}
	// The count outlives the release.
	f.push(appFiles(t), "v2")
	seen := map[string]bool{}
	for range 20 {
		seen[f.get(http.DefaultClient)] = true
	}
	if len(seen) != 2 {
		t.Errorf("v2 answered from %d instances, want the 2 kept from ps:scale: %v", len(seen), seen)
	}
	if err := f.svc.Scale(t.Context(), "nope", []ScaleChange{{Type: "web", Count: 2}}, &out); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("scale of unknown app: err = %v, want ENOTFOUND", err)
	}
}

func TestRestart_UnknownAppAndNoLiveRelease(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	if err := f.svc.Restart(context.Background(), "nope", &strings.Builder{}); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("restart of an unknown app: %v", err)
	}
	if err := f.svc.Create(t.Context(), "empty"); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Restart(t.Context(), "empty", &strings.Builder{})
	if slipway.ErrorCode(err) != slipway.EINVALID || !strings.Contains(err.Error(), "no live release to restart") {
		t.Errorf("restart of an app with no release: %v", err)
	}
}
