package supervisor

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// CgroupDirs returns the directories of the cgroup name (Running.Cgroup)
// that account for its memory and its CPU time, for whoever reads them
// (the admin page's charts): on cgroup v2 its one directory; on v1 its
// directory in the memory hierarchy and, where cpuacct is mounted with
// cpu (cpu,cpuacct), in the cpu hierarchy, else "" for cpu: its
// processes (memory's cgroup.procs) are then read one by one. Both are ""
// for no name or when slipway gives its processes no cgroups.
func CgroupDirs(name string) (memory, cpu string) {
	if name == "" || filepath.Base(name) != name || !cgroupsAvailable() {
		return "", ""
	}
	if u := cgroupHost().v2; u != nil {
		dir := filepath.Join(u.base, name)
		return dir, dir
	}
	b := v1Bases()
	if b.memory == "" {
		return "", ""
	}
	memory = filepath.Join(b.memory, name)
	if b.cpuacct {
		cpu = filepath.Join(b.cpu, name)
	}
	return memory, cpu
}

// v1Base is where slipway's own cgroup is in the memory and cpu
// hierarchies of cgroup v1, below which each of its processes' is.
type v1Base struct {
	memory, cpu string
	cpuacct     bool // the cpu hierarchy has cpuacct's files too
}

// v1Bases finds them once: slipway does not move between cgroups.
var v1Bases = sync.OnceValue(func() v1Base {
	var b v1Base
	subs, err := subsystems()
	if err != nil {
		return b
	}
	for _, s := range subs {
		p, ok := s.(interface{ Path(string) string })
		if !ok {
			continue
		}
		own, err := cgroup1.NestedPath("")(s.Name())
		if err != nil {
			continue
		}
		switch s.Name() {
		case cgroup1.Memory:
			b.memory = p.Path(own)
		case cgroup1.Cpu:
			b.cpu = p.Path(own)
			_, err := os.Stat(filepath.Join(b.cpu, "cpuacct.usage"))
			b.cpuacct = err == nil
		}
	}
	return b
})
