package kubetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

// What a node of a test binary that was killed left (a container in its
// cgroup, a network namespace, its directory) goes at the next
// StartNode; a live binary's node is left alone.
func TestSweepDeadNodes(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.Missing(t, "the test node needs root")
	}
	testutil.NeedTool(t, "runc", "runc")
	dead, err := os.MkdirTemp("", nodeDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dead) })
	// pid 1 started at another time: a test binary long gone.
	if err := os.WriteFile(filepath.Join(dead, ownerFile), []byte("1 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	live, err := os.MkdirTemp("", nodeDirPrefix)
	if err == nil {
		err = writeOwner(live)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(live) })

	pn, err := newPodNet(context.Background(), "sweep-"+filepath.Base(dead), filepath.Join(dead, "netns"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pn.remove)
	img, err := images.BusyboxImage()
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	rootfs := filepath.Join(dead, "images", "busybox")
	os.MkdirAll(filepath.Dir(rootfs), 0o755)
	if err := images.Unpack(context.Background(), img, rootfs); err != nil {
		t.Fatal(err)
	}
	s := supervisor.Spec{ID: "left", TmpDir: filepath.Join(dead, "tmp", "left"), LogPath: filepath.Join(dead, "left.log"),
		Sandbox: &supervisor.Sandbox{Cgroup: cgroupPrefix(dead) + "left"},
		Image: &supervisor.ImageRun{Rootfs: rootfs, Args: []string{"/bin/sleep", "600"}, NetNS: pn.path(),
			StateDir: filepath.Join(dead, "runc")}}
	proc, err := supervisor.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Stop(0) })
	testutil.WaitFor(t, "the container to run", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dead, "runc"))
		return len(entries) == 1
	})

	sweepDeadNodes()
	select {
	case <-proc.Exited():
	case <-time.After(testutil.Timeout):
		t.Error("the dead node's container runs after the sweep")
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), pn.name) {
		t.Error("the dead node's network namespace is left")
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead node's directory is left: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live node's directory was swept: %v", err)
	}
}
