package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slipway/slipway"
)

// Limits bound what one process, with everything it starts, may use.
type Limits = slipway.Limits

// cgroupsAvailable is CgroupsAvailable: the host is asked once, by
// cgroupHost.
func cgroupsAvailable() bool { return CgroupsAvailable() }

// CgroupsAvailable reports whether this host lets slipway put each process
// in a cgroup of its own with memory, cpu and pids limits, as root: the
// cgroup v1 hierarchies of memory, cpu, pids and freezer (a v1 or hybrid
// host), or the unified cgroup v2 hierarchy with those controllers
// delegated to slipway's cgroup (CgroupsUnavailable says why not).
func CgroupsAvailable() bool { return CgroupsUnavailable() == nil }

// CgroupsUnavailable returns nil when slipway can give its processes
// cgroups, else what is missing, in words for the log.
func CgroupsUnavailable() error { return cgroupHost().err }

// CgroupVersion says which cgroups slipway uses: "v1", or "v2" with the
// base cgroup below which it makes its processes'.
func CgroupVersion() string {
	if u := cgroupHost().v2; u != nil {
		return "v2 (" + strings.TrimPrefix(u.base, cgroup2Root) + ")"
	}
	return "v1"
}

// cgroupLayout is how slipway uses this host's cgroups, found once.
type cgroupLayout struct {
	v2  *unified // the unified hierarchy, when slipway uses it
	err error    // why slipway cannot use cgroups
}

var cgroupHost = sync.OnceValue(func() cgroupLayout {
	if syscall.Geteuid() != 0 {
		return cgroupLayout{err: fmt.Errorf("slipway is not root")}
	}
	if cgroups.Mode() == cgroups.Unified {
		u, err := openUnified(cgroup2Root, ownCgroup())
		return cgroupLayout{v2: u, err: err}
	}
	subs, err := subsystems()
	if err == nil && len(subs) != 4 {
		err = fmt.Errorf("the cgroup v1 hierarchies of memory, cpu, pids and freezer are not all mounted")
	}
	return cgroupLayout{err: err}
})

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
// fork), and its limits hold for them together. It is the same on both
// layouts; cg is the layout's own.
type group struct {
	name   string
	cg     cgroupControl
	limits Limits
}

// cgroupControl is what a group does on one layout: cgroup v1 (v1Group)
// or the unified hierarchy (v2Group).
type cgroupControl interface {
	add(pid int) error
	procs() []int     // every process in it
	kill()            // SIGKILL to every process in it, waiting briefly for it to empty
	oomKills() uint64 // processes the kernel killed for going over its memory limit
	remove()          // the cgroup itself, once empty
}

// newGroup makes the cgroup name (below slipway's own) with limits.
func newGroup(name string, l Limits) (*group, error) {
	var cg cgroupControl
	var err error
	if u := cgroupHost().v2; u != nil {
		cg, err = u.newGroup(name, l)
	} else {
		cg, err = newV1Group(name, l)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &group{name: name, cg: cg, limits: l}, nil
}

// loadGroup returns the cgroup name an earlier slipway made, whose limits
// were l.
func loadGroup(name string, l Limits) (*group, error) {
	var cg cgroupControl
	var err error
	if u := cgroupHost().v2; u != nil {
		cg, err = u.loadGroup(name)
	} else {
		cg, err = loadV1Group(name)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", name, err)
	}
	return &group{name: name, cg: cg, limits: l}, nil
}

// add moves pid into the group.
func (g *group) add(pid int) error { return g.cg.add(pid) }

// oomKills returns how many processes of the group the kernel killed for
// going over its memory limit.
func (g *group) oomKills() uint64 { return g.cg.oomKills() }

// delete ends what is left in the group and removes it.
func (g *group) delete() {
	g.cg.kill()
	g.cg.remove()
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
	var names []string
	if u := cgroupHost().v2; u != nil {
		names = u.children()
	} else {
		var err error
		if names, err = v1Children(); err != nil {
			return 0, err
		}
	}
	killed := 0
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) || keep(name) {
			continue
		}
		g, err := loadGroup(name, Limits{})
		if err != nil {
			continue
		}
		killed += len(g.cg.procs())
		g.delete()
	}
	return killed, nil
}

// v1Group is a group on the cgroup v1 hierarchies, below slipway's own
// cgroup in each.
type v1Group struct{ cg cgroup1.Cgroup }

func newV1Group(name string, l Limits) (*v1Group, error) {
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
		return nil, err
	}
	return &v1Group{cg: cg}, nil
}

func loadV1Group(name string) (*v1Group, error) {
	cg, err := cgroup1.Load(cgroup1.NestedPath(name), cgroup1.WithHierarchy(subsystems))
	if err != nil {
		return nil, err
	}
	return &v1Group{cg: cg}, nil
}

// v1Children returns the names of the cgroups below slipway's own in any
// of its v1 hierarchies.
func v1Children() ([]string, error) {
	subs, err := subsystems()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
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
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	return names, nil
}

func (g *v1Group) add(pid int) error { return g.cg.AddProc(uint64(pid)) }

func (g *v1Group) procs() []int {
	procs, _ := g.cg.Processes(cgroup1.Freezer, true)
	out := make([]int, len(procs))
	for i, p := range procs {
		out[i] = p.Pid
	}
	return out
}

// kill freezes the group first, so none can fork meanwhile, then
// SIGKILLs every process, then thaws it so the kills land, until it is
// empty or a half second has passed.
func (g *v1Group) kill() {
	for attempt := 0; attempt < 50; attempt++ {
		procs := g.procs()
		if len(procs) == 0 {
			return
		}
		g.cg.Freeze()
		for _, pid := range procs {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		g.cg.Thaw()
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *v1Group) oomKills() uint64 {
	st, err := g.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil || st.MemoryOomControl == nil {
		return 0
	}
	return st.MemoryOomControl.OomKill
}

func (g *v1Group) remove() { g.cg.Delete() }
