package apps

import (
	"net/http"
	"strings"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestSetConfig_MakesAConfigReleaseWithItsOwnLog(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	rel, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "hi there"}, nil, false, "ssh", &out)
	if err != nil {
		t.Fatalf("config:set: %v\n%s", err, out.String())
	}
	if rel.Version != 2 || rel.Kind != slipway.KindConfig || rel.Subject != "Set GREETING" || rel.Config["GREETING"] != "hi there" {
		t.Errorf("config release = %+v", rel)
	}
	if got := f.get(http.DefaultClient); got != "200 release v2 web.1 hi there" {
		t.Errorf("got %q, want the new config live", got)
	}
	if log, _ := f.svc.BuildLog(t.Context(), "app", 2); !strings.Contains(string(log), "app: Set GREETING as v2") {
		t.Errorf("config release log = %q", log)
	}
}

func TestSetConfig_NoRestartStoresForTheNextRelease(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	var out strings.Builder
	if rel, err := f.svc.SetConfig(t.Context(), "app", map[string]string{"GREETING": "later"}, nil, true, "ssh", &out); err != nil || rel != nil {
		t.Fatalf("config:set --no-restart = %v, %v", rel, err)
	}
	if got := f.statuses(); got != "v1:live" {
		t.Errorf("history = %q: --no-restart makes no release", got)
	}
	f.push(appFiles(t), "v2")
	if got := f.get(http.DefaultClient); got != "200 release v2 web.1 later" {
		t.Errorf("got %q, want the stored config in the next push", got)
	}
	if _, err := f.svc.SetConfig(t.Context(), "nope", nil, []string{"A"}, false, "ssh", &out); slipway.ErrorCode(err) != slipway.ENOTFOUND {
		t.Errorf("config of an unknown app: err = %v", err)
	}
}
