package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgroupSpec returns a spec whose process runs in a cgroup of its own
// with limits, or skips the test on a host without cgroups for slipway.
func cgroupSpec(t *testing.T, command string, l Limits) Spec {
	t.Helper()
	if !CgroupsAvailable() {
		t.Skip("cgroups need root and the cgroup v1 memory, cpu, pids and freezer hierarchies")
	}
	s := spec(t, command)
	s.Sandbox = &Sandbox{Cgroup: fmt.Sprintf("slipway-test-%d-%s", os.Getpid(), t.Name()), Limits: l}
	return s
}

func waitExit(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not end")
	}
}

func TestCgroup_MemoryLimitKillsAndSaysSo(t *testing.T) {
	p, err := Start(cgroupSpec(t, `python3 -c 'x = bytearray(256 << 20); print("allocated", flush=True)'`, Limits{Memory: 64 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, p)
	p.Stop(time.Second)
	if got := p.ExitText(); got != "was killed: out of memory (limit 64M)" {
		t.Errorf("ExitText = %q; output %q", got, p.LogTail(5))
	}
}

func TestCgroup_PidsLimitContainsAForkBomb(t *testing.T) {
	p, err := Start(cgroupSpec(t, `python3 -c '
import os, time
n = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
    except OSError:
        pass
print("tried, forked", n, flush=True)
time.sleep(30)'`, Limits{PIDs: 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	waitFor(t, "the bomb to try", func() bool { return strings.Contains(strings.Join(p.LogTail(5), ""), "tried") })
	procs, err := p.group.cg.Processes("pids", true)
	if err != nil {
		t.Fatal(err)
	}
	var forked int
	fmt.Sscanf(strings.Join(p.LogTail(5), ""), "tried, forked %d", &forked)
	if n := len(procs); n > 20 || forked < 1 || forked >= 20 {
		t.Errorf("%d processes in a cgroup limited to 20; output %q", n, p.LogTail(5))
	}
}

func TestCgroup_StopEndsWhatDetached(t *testing.T) {
	p, err := Start(cgroupSpec(t, `setsid sleep 300 & echo $!; sleep 300`, Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the detached child", func() bool { return len(p.LogTail(1)) == 1 })
	child, err := strconv.Atoi(p.LogTail(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	p.Stop(time.Second)
	waitFor(t, "the setsid child to end", func() bool { return syscall.Kill(child, 0) != nil })
}
