package supervisor

import (
	"os"
	"strings"

	"github.com/slipway/slipway"

	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Limits bound what one process, with everything it starts, may use.
type Limits = slipway.Limits

// cgroupsAvailable is CgroupsAvailable, asked of the host once.
var cgroupsAvailable = sync.OnceValue(CgroupsAvailable)

// CgroupsAvailable reports whether this host lets slipway put each process
// in a cgroup of its own with memory, cpu and pids limits: the cgroup v1
// hierarchies of those controllers, written by root. (A host with the
// unified cgroup v2 hierarchy only is not supported yet.)
func CgroupsAvailable() bool {
	if syscall.Geteuid() != 0 || cgroups.Mode() == cgroups.Unified {
		return false
	}
	subs, err := subsystems()
	return err == nil && len(subs) == 4
}

// subsystems are the cgroup v1 controllers slipway uses.
func subsystems() ([]cgroup1.Subsystem, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, err
	}
	var out []cgroup1.Subsystem
	for _, s := range all {
		if slices.Contains([]cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Pids, cgroup1.Freezer}, s.Name()) {
			out = append(out, s)
		}
	}
	return out, nil
}

// group is the cgroup of one process: everything it starts stays in it,
// so stopping it ends them all, however they detached (setsid, double
// fork), and its limits hold for them together.
type group struct {
	name   string
	cg     cgroup1.Cgroup
	limits Limits
}

// newGroup makes the cgroup name (below slipway's own) with limits.
func newGroup(name string, l Limits) (*group, error) {
	res := &specs.LinuxResources{}
	if l.Memory > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &l.Memory}
	}
	if l.CPU > 0 {
		period := uint64(100000)
		quota := int64(l.CPU * float64(period))
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if l.PIDs > 0 {
		res.Pids = &specs.LinuxPids{Limit: &l.PIDs}
	}
	cg, err := cgroup1.New(cgroup1.NestedPath(name), res, cgroup1.WithHierarchy(subsystems))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &group{name: name, cg: cg, limits: l}, nil
}

// loadGroup returns the cgroup name an earlier slipway made, whose limits
// were l.
func loadGroup(name string, l Limits) (*group, error) {
	cg, err := cgroup1.Load(cgroup1.NestedPath(name), cgroup1.WithHierarchy(subsystems))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &group{name: name, cg: cg, limits: l}, nil
}

// add moves pid into the group.
func (g *group) add(pid int) error { return g.cg.AddProc(uint64(pid)) }

// kill ends every process in the group: frozen first, so none can fork
// meanwhile, then SIGKILLed, then thawed so the kills land. It waits,
// briefly, for the group to empty.
func (g *group) kill() {
	for attempt := 0; attempt < 50; attempt++ {
		procs, err := g.cg.Processes(cgroup1.Freezer, true)
		if err != nil || len(procs) == 0 {
			return
		}
		g.cg.Freeze()
		for _, p := range procs {
			syscall.Kill(p.Pid, syscall.SIGKILL)
		}
		g.cg.Thaw()
		time.Sleep(10 * time.Millisecond)
	}
}

// oomKills returns how many processes of the group the kernel killed for
// going over its memory limit.
func (g *group) oomKills() uint64 {
	st, err := g.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil || st.MemoryOomControl == nil {
		return 0
	}
	return st.MemoryOomControl.OomKill
}

// delete removes the group, once empty.
func (g *group) delete() {
	g.kill()
	g.cg.Delete()
}

// KillLeftovers ends every process left in a cgroup whose name starts
// with prefix, but those keep says to keep, and removes those cgroups: what a slipway that died without
// stopping its apps (kill -9, a crash) left running, found before the
// apps start again, so that no instance runs twice and no singleton
// worker has a twin. It returns how many processes it ended.
func KillLeftovers(prefix string, keep func(name string) bool) (int, error) {
	if !cgroupsAvailable() {
		return 0, nil
	}
	subs, err := subsystems()
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, s := range subs {
		own, err := cgroup1.NestedPath("")(s.Name())
		if err != nil {
			continue
		}
		p, ok := s.(interface{ Path(string) string })
		if !ok {
			continue
		}
		entries, _ := os.ReadDir(p.Path(own))
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), prefix) && !keep(e.Name()) {
				names[e.Name()] = true
			}
		}
	}
	killed := 0
	for name := range names {
		cg, err := cgroup1.Load(cgroup1.NestedPath(name), cgroup1.WithHierarchy(subsystems))
		if err != nil {
			continue
		}
		if procs, err := cg.Processes(cgroup1.Freezer, true); err == nil {
			killed += len(procs)
		}
		g := &group{name: name, cg: cg}
		g.delete()
	}
	return killed, nil
}
