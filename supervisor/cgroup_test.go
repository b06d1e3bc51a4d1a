package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cgroup tests use only a POSIX shell and tools busybox has too, so
// that they also run in the cgroup v2 VM (vm_test.go), which holds
// nothing else.

// cgroupSpec returns a spec whose process runs in a cgroup of its own
// with limits, or skips the test on a host without cgroups for slipway.
func cgroupSpec(t *testing.T, command string, l Limits) Spec {
	t.Helper()
	if err := CgroupsUnavailable(); err != nil {
		t.Skip("no cgroups for slipway here:", err)
	}
	s := spec(t, command)
	s.Sandbox = &Sandbox{Cgroup: cgroupName(t), Limits: l}
	return s
}

// cgroupName is a cgroup name of the test's own.
func cgroupName(t *testing.T) string {
	return fmt.Sprintf("slipway-test-%d-%s", os.Getpid(), t.Name())
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
	// dd allocates its 300M block, and touches it reading into it.
	p, err := Start(cgroupSpec(t, `dd if=/dev/zero of=/dev/null bs=300M count=1 && echo allocated`, Limits{Memory: 64 << 20}))
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
	// The subshell forks until a fork fails, which ends it; exec keeps the
	// shell itself from needing another.
	p, err := Start(cgroupSpec(t, `(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; echo tried; exec sleep 30`, Limits{PIDs: 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	waitFor(t, "the bomb to try", func() bool { return strings.Contains(strings.Join(p.LogTail(5), ""), "tried") })
	if n := len(p.group.cg.procs()); n > 20 || n < 10 {
		t.Errorf("%d processes in a cgroup limited to 20, want the bomb to have reached it; output %q", n, p.LogTail(5))
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

// superviseEnv names, in a re-executed test binary, the directory of a
// process to start and supervise until killed (superviseForTest).
const superviseEnv = "SLIPWAY_TEST_SUPERVISE"

// superviseForTest is the test binary as a slipway that starts a process
// in a cgroup, says what it would record of it, and is then killed.
func superviseForTest(dir string) {
	s := Spec{
		ID: "web.1", Command: `setsid sleep 300 & echo $!; exec sleep 300`, Dir: dir, Env: AppEnv(dir, nil),
		TmpDir: filepath.Join(dir, "tmp", "v1.web.1"), LogPath: filepath.Join(dir, "logs", "web.1.log"),
		AppLog: NewAppLog(filepath.Join(dir, "logs", "app.log")), Release: "v1",
		Sandbox: &Sandbox{Cgroup: os.Getenv(superviseEnv + "_CGROUP")},
	}
	p, err := Start(s)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(p.Running())
	select {}
}

// A process whose slipway was killed (kill -9) is adopted by the next by
// its cgroup's path, and stopping it ends what it detached.
func TestCgroup_AdoptedByPathAfterTheSupervisorIsKilled(t *testing.T) {
	name := cgroupName(t)
	s := cgroupSpec(t, "", Limits{})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), superviseEnv+"="+s.Dir, superviseEnv+"_CGROUP="+name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var rec Running
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &rec) != nil || rec.Cgroup == "" {
		t.Fatalf("the supervising process said %q, %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	s.Command = `setsid sleep 300 & echo $!; exec sleep 300`
	s.Sandbox = &Sandbox{Cgroup: name}
	p, err := Adopt(s, rec)
	if err != nil {
		t.Fatal(err)
	}
	if p.group == nil {
		t.Fatalf("the adopted process has no cgroup (recorded %q)", rec.Cgroup)
	}
	var members []int
	waitFor(t, "the process and its setsid child in the adopted cgroup", func() bool {
		members = p.group.cg.procs()
		return len(members) == 2
	})
	p.Stop(time.Second)
	for _, pid := range members {
		waitFor(t, "every process of the adopted cgroup to end", func() bool { return syscall.Kill(pid, 0) != nil })
	}
}

// On the unified hierarchy slipway takes the cgroup it was started in as
// its base (the one it moved itself out of, when a slipway that handed
// over to it is in the leaf), and says which controllers are missing.
func TestCgroup_UnifiedBaseAndMissingControllers(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "system.slice", "slipway.service")
	if err := os.MkdirAll(filepath.Join(base, leafName), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(base, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), nil, 0o644)
	for _, own := range []string{"/system.slice/slipway.service", "/system.slice/slipway.service/" + leafName} {
		u, err := openUnified(root, own)
		if err != nil {
			t.Fatalf("%s: %v", own, err)
		}
		if u.base != base {
			t.Errorf("%s: base %s, want %s", own, u.base, base)
		}
		if got, _ := os.ReadFile(filepath.Join(base, "cgroup.subtree_control")); string(got) != "+memory +pids +cpu" {
			t.Errorf("%s: subtree_control = %q", own, got)
		}
	}
	os.WriteFile(filepath.Join(base, "cgroup.controllers"), []byte("cpuset io memory\n"), 0o644)
	_, err := openUnified(root, "/system.slice/slipway.service")
	if err == nil || !strings.Contains(err.Error(), "pids, cpu are not delegated") || !strings.Contains(err.Error(), "Delegate=yes") {
		t.Errorf("without pids and cpu: %v", err)
	}
}
