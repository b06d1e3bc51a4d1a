package apps

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

func TestDestroy_RemovesEverythingAndWaitersFindNoApp(t *testing.T) {
	f := newFixture(t, releaser.Config{})
	f.push(appFiles(t), "v1")
	pid := f.processes()[0].PID
	// Hold the app's lock, as a deploy in progress would, so that the
	// destroy and a config change behind it both wait.
	unlock, err := f.svc.lock(t.Context(), "app", &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	destroyed := make(chan error)
	go func() { destroyed <- f.svc.Destroy(context.Background(), "app", &strings.Builder{}) }()
	waitFor(t, "the destroy to wait", func() bool { return f.svc.lockRefs("app") == 2 })
	configured := make(chan error)
	go func() {
		_, err := f.svc.SetConfig(context.Background(), "app", map[string]string{"A": "1"}, nil, false, &strings.Builder{})
		configured <- err
	}()
	waitFor(t, "the config change to wait", func() bool { return f.svc.lockRefs("app") == 3 })
	unlock()
	errs := []error{<-destroyed, <-configured}
	if errs[0] != nil {
		t.Fatalf("destroy: %v", errs[0])
	}
	if slipway.ErrorCode(errs[1]) != slipway.ENOTFOUND {
		t.Errorf("config change behind the destroy: err = %v, want ENOTFOUND", errs[1])
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("instance %d still runs after the destroy", pid)
	}
	for _, path := range []string{f.svc.layout.AppDir("app"), f.repo} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", path, err)
		}
	}
	if names, _ := f.db.ListApps(t.Context()); len(names) != 0 {
		t.Errorf("apps in the history after destroy: %v", names)
	}
	if n := f.svc.lockRefs("app"); n != 0 {
		t.Errorf("the app's lock has %d holders after everyone left", n)
	}
}
