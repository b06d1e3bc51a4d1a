package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway/supervisor"
)

// What a test binary killed with its nodes running (kill -9, go test's
// timeout) leaves: their containers, processes and network namespaces.
// Each node's directory says whose it is (ownerFile: the pid and start
// time of the test binary) and which namespaces it made (netns/NAME); its
// containers' cgroups and runc state hold its ID. The next StartNode on
// the machine sweeps the directories of nodes whose test binary is gone.

const (
	nodeDirPrefix = "kubetest-node-"
	ownerFile     = "owner"
)

// nodeID is the ID of the node whose directory is dir, which its
// containers' cgroup names hold.
func nodeID(dir string) string { return strings.TrimPrefix(filepath.Base(dir), nodeDirPrefix) }

// writeOwner records the running test binary as dir's owner.
func writeOwner(dir string) error {
	pid := os.Getpid()
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %d\n", pid, supervisor.StartTicks(pid)), 0o600)
}

// ownerGone reports whether dir's test binary is no longer running: its
// pid is gone or names another process. A directory without an owner is
// being made, unless it is older than a minute.
func ownerGone(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		st, err := os.Stat(dir)
		return err == nil && time.Since(st.ModTime()) > time.Minute
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return true
	}
	pid, _ := strconv.Atoi(f[0])
	ticks, _ := strconv.ParseUint(f[1], 10, 64)
	return pid <= 0 || supervisor.StartTicks(pid) != ticks
}

// sweepDeadNodes removes what the nodes of test binaries that are gone
// left on this machine: runc's containers first (their cgroups hold
// them), then the processes and cgroups, the network namespaces, the
// directory.
func sweepDeadNodes() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), nodeDirPrefix+"*"))
	for _, dir := range dirs {
		if !ownerGone(dir) {
			continue
		}
		none := func(string) bool { return false }
		supervisor.SweepContainers(supervisor.ImageRun{StateDir: filepath.Join(dir, "runc")}, "", none)
		supervisor.KillLeftovers(cgroupPrefix(dir), none)
		names, _ := os.ReadDir(filepath.Join(dir, "netns"))
		for _, e := range names {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ip(ctx, "netns", "del", e.Name())
			cancel()
		}
		os.RemoveAll(dir)
	}
}

// cgroupPrefix starts the names of the cgroups of the containers of the
// node whose directory is dir.
func cgroupPrefix(dir string) string { return "kubetest-" + nodeID(dir) + "-" }
