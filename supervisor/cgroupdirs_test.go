package supervisor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A process's cgroup, named as Running records it, has its memory and
// CPU accounting where CgroupDirs says: the process is in the memory
// directory's cgroup.procs.
func TestCgroupDirs_NameWhereTheProcessIsAccounted(t *testing.T) {
	p, err := Start(cgroupSpec(t, `exec sleep 300`, Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	memory, cpu := CgroupDirs(p.Running().Cgroup)
	if memory == "" {
		t.Fatalf("no memory directory for cgroup %q", p.Running().Cgroup)
	}
	if got := readPids(filepath.Join(memory, "cgroup.procs")); len(got) != 1 || got[0] != p.PID() {
		t.Errorf("%s/cgroup.procs = %v, want [%d]", memory, got, p.PID())
	}
	usage := "memory.usage_in_bytes"
	if _, err := os.Stat(filepath.Join(memory, "memory.current")); err == nil {
		usage = "memory.current"
	}
	if _, err := os.Stat(filepath.Join(memory, usage)); err != nil {
		t.Errorf("no %s: %v", usage, err)
	}
	if cpu != "" && cpu != memory {
		if _, err := os.Stat(filepath.Join(cpu, "cpuacct.usage")); err != nil {
			t.Errorf("the cpu directory %s has no cpuacct.usage: %v", cpu, err)
		}
	}
	for _, bad := range []string{"", "../etc", "a/b"} {
		if m, c := CgroupDirs(bad); m != "" || c != "" {
			t.Errorf("CgroupDirs(%q) = %q, %q, want none", bad, m, c)
		}
	}
}
