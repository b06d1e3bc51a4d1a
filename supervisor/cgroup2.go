package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroup2Root is where the unified hierarchy is mounted.
const cgroup2Root = "/sys/fs/cgroup"

// leafName is the cgroup slipway moves its own processes into, below the
// one it was started in, when that one must hold no process to hand its
// controllers down: cgroup v2's rule for every cgroup but the root.
const leafName = "slipway.serve"

// v2Controllers are the controllers slipway's cgroups need.
var v2Controllers = []string{"memory", "pids", "cpu"}

// unified is the cgroup v2 hierarchy as slipway uses it. base is the
// cgroup slipway was started in (systemd's slipway.service, delegated to
// it with Delegate=yes; a container's; the root): slipway's own processes
// live in its leaf, and each process slipway starts gets a cgroup of its
// own beside it, with memory, pids and cpu handed down.
type unified struct {
	base string // the base cgroup's directory
}

// ownCgroup returns this process's cgroup in the unified hierarchy, as
// /proc/self/cgroup names it ("/system.slice/slipway.service").
func ownCgroup() string {
	data, _ := os.ReadFile("/proc/self/cgroup")
	for line := range strings.Lines(string(data)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			return p
		}
	}
	return "/"
}

// openUnified readies the cgroup own, of the hierarchy mounted at root,
// to hold slipway's processes' cgroups, or says what it lacks.
func openUnified(root, own string) (*unified, error) {
	if path.Base(own) == leafName {
		own = path.Dir(own) // a slipway that handed over to this one moved itself there
	}
	u := &unified{base: filepath.Join(root, own)}
	data, err := os.ReadFile(filepath.Join(u.base, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	have := strings.Fields(string(data))
	var missing []string
	for _, c := range v2Controllers {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the cgroup v2 controllers %s are not delegated to slipway's cgroup %s: under systemd, run slipway with Delegate=yes (docs/systemd/slipway.service)", strings.Join(missing, ", "), own)
	}
	if err := u.handDown(); err != nil {
		return nil, fmt.Errorf("hand the cgroup v2 controllers down from %s: %w", own, err)
	}
	return u, nil
}

// handDown enables slipway's controllers for the base cgroup's children.
// A cgroup that holds processes may not (the root excepted: EBUSY), so
// the base's processes, slipway's own, move to its leaf first.
func (u *unified) handDown() error {
	control := filepath.Join(u.base, "cgroup.subtree_control")
	want := "+" + strings.Join(v2Controllers, " +")
	err := os.WriteFile(control, []byte(want), 0)
	if !errors.Is(err, syscall.EBUSY) {
		return err
	}
	leaf := filepath.Join(u.base, leafName)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	for attempt := 0; attempt < 10; attempt++ {
		pids := readPids(filepath.Join(u.base, "cgroup.procs"))
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil && !errors.Is(err, syscall.ESRCH) {
				return err
			}
		}
	}
	return os.WriteFile(control, []byte(want), 0)
}

// children returns the names of the cgroups below the base, but the leaf.
func (u *unified) children() []string {
	entries, _ := os.ReadDir(u.base)
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != leafName {
			names = append(names, e.Name())
		}
	}
	return names
}

// newGroup makes the cgroup name below the base with limits l: memory.max
// with no swap beyond it, cpu.max over 100ms periods, pids.max.
func (u *unified) newGroup(name string, l Limits) (*v2Group, error) {
	g := &v2Group{dir: filepath.Join(u.base, name)}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, err
	}
	values := [][2]string{{"pids.max", "max"}, {"memory.max", "max"}, {"cpu.max", "max 100000"}}
	if l.PIDs > 0 {
		values[0][1] = strconv.FormatInt(l.PIDs, 10)
	}
	if l.Memory > 0 {
		values[1][1] = strconv.FormatInt(l.Memory, 10)
		if _, err := os.Stat(filepath.Join(g.dir, "memory.swap.max")); err == nil {
			values = append(values, [2]string{"memory.swap.max", "0"})
		}
	}
	if l.CPU > 0 {
		values[2][1] = strconv.FormatInt(int64(l.CPU*100000), 10) + " 100000"
	}
	for _, v := range values {
		if err := os.WriteFile(filepath.Join(g.dir, v[0]), []byte(v[1]), 0); err != nil {
			os.Remove(g.dir)
			return nil, fmt.Errorf("%s %s: %w", v[0], v[1], err)
		}
	}
	return g, nil
}

// loadGroup returns the cgroup name below the base, made by an earlier
// slipway.
func (u *unified) loadGroup(name string) (*v2Group, error) {
	g := &v2Group{dir: filepath.Join(u.base, name)}
	if _, err := os.Stat(filepath.Join(g.dir, "cgroup.procs")); err != nil {
		return nil, err
	}
	return g, nil
}

// v2Group is a group in the unified hierarchy.
type v2Group struct{ dir string }

func (g *v2Group) add(pid int) error {
	return os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

func (g *v2Group) procs() []int { return readPids(filepath.Join(g.dir, "cgroup.procs")) }

// kill writes cgroup.kill, which SIGKILLs every process in the group at
// once, none escaping by forking (Linux 5.14); before that kernel it
// freezes the group, kills each process and thaws it, as on v1. It waits
// until the group is empty, or a half second has passed.
func (g *v2Group) kill() {
	atOnce := os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0) == nil
	for attempt := 0; attempt < 50; attempt++ {
		procs := g.procs()
		if len(procs) == 0 {
			return
		}
		if !atOnce {
			os.WriteFile(filepath.Join(g.dir, "cgroup.freeze"), []byte("1"), 0)
			for _, pid := range procs {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			os.WriteFile(filepath.Join(g.dir, "cgroup.freeze"), []byte("0"), 0)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oomKills reads oom_kill from memory.events.
func (g *v2Group) oomKills() uint64 {
	data, err := os.ReadFile(filepath.Join(g.dir, "memory.events"))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "oom_kill "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return n
		}
	}
	return 0
}

// remove removes the empty group; its last processes may take a moment
// to be released after they died.
func (g *v2Group) remove() {
	for attempt := 0; attempt < 50; attempt++ {
		err := os.Remove(g.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) || !errors.Is(err, syscall.EBUSY) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPids reads a cgroup.procs file.
func readPids(file string) []int {
	data, _ := os.ReadFile(file)
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
