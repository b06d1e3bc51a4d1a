package stats

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is one running instance of an app on this host, as the sampler
// reads it.
type Process struct {
	Type string // its process type: web, worker, …
	// PID is its process (the one that leads its process group); 0 for
	// one not on this host (a Kubernetes pod), which is not read.
	PID int
	// MemoryDir and CPUDir are the directories of its cgroup that
	// account for its memory and its CPU time (supervisor.CgroupDirs;
	// the same one on cgroup v2). Without MemoryDir its memory is the
	// resident set of its PID and every descendant, from /proc; without
	// CPUDir its CPU time is that of the processes in MemoryDir's
	// cgroup.procs, or of the PID and its descendants.
	MemoryDir, CPUDir string
}

// clockTicks is the unit of the CPU times in /proc/PID/stat: USER_HZ,
// 100 on every Linux architecture as user space sees it.
const clockTicks = 100

// maxTree bounds the processes read for one instance without a cgroup.
const maxTree = 1024

// reader reads the memory and CPU time of processes, for one sample.
type reader struct {
	proc     string        // where procfs is mounted
	children map[int][]int // by parent pid, read once a sample when needed
}

// memory returns the bytes p holds: its cgroup's usage less the inactive
// page cache (what the kernel reclaims first; docker stats and cAdvisor
// count the same), or its processes' resident sets.
func (r *reader) memory(p Process) (int64, bool) {
	if p.MemoryDir != "" {
		if v, ok := readInt(filepath.Join(p.MemoryDir, "memory.current")); ok { // v2
			inactive, _ := statValue(filepath.Join(p.MemoryDir, "memory.stat"), "inactive_file")
			return max(v-inactive, 0), true
		}
		if v, ok := readInt(filepath.Join(p.MemoryDir, "memory.usage_in_bytes")); ok { // v1
			inactive, _ := statValue(filepath.Join(p.MemoryDir, "memory.stat"), "total_inactive_file")
			return max(v-inactive, 0), true
		}
	}
	if p.PID <= 0 {
		return 0, false
	}
	var total int64
	read := false
	page := int64(os.Getpagesize())
	for _, pid := range r.tree(p.PID) {
		data, err := os.ReadFile(filepath.Join(r.proc, strconv.Itoa(pid), "statm"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				total += pages * page
				read = true
			}
		}
	}
	return total, read
}

// cpu returns the CPU time p has used, in nanoseconds: a counter that
// only grows while the same processes run.
func (r *reader) cpu(p Process) (int64, bool) {
	if p.CPUDir != "" {
		if usec, ok := statValue(filepath.Join(p.CPUDir, "cpu.stat"), "usage_usec"); ok { // v2
			return usec * 1000, true
		}
		if ns, ok := readInt(filepath.Join(p.CPUDir, "cpuacct.usage")); ok { // v1, cpu,cpuacct
			return ns, true
		}
	}
	var pids []int
	if p.MemoryDir != "" {
		data, err := os.ReadFile(filepath.Join(p.MemoryDir, "cgroup.procs"))
		if err != nil {
			return 0, false
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	} else if p.PID > 0 {
		pids = r.tree(p.PID)
	}
	var ticks int64
	read := false
	for _, pid := range pids {
		if t, ok := r.procTicks(pid); ok {
			ticks += t
			read = true
		}
	}
	return ticks * (1e9 / clockTicks), read
}

// procTicks returns the CPU time of pid and of the children it has
// waited for, in clock ticks: a child's time moves to its parent when it
// ends, so the sum over a group of processes keeps growing.
func (r *reader) procTicks(pid int) (int64, bool) {
	f, ok := r.stat(pid)
	if !ok || len(f) < 15 {
		return 0, false
	}
	var sum int64
	for _, s := range f[11:15] { // utime, stime, cutime, cstime
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += n
	}
	return sum, true
}

// stat returns the fields of /proc/PID/stat after the command's name:
// [0] is the state (field 3 in proc(5)), [1] the parent's pid.
func (r *reader) stat(pid int) ([]string, bool) {
	data, err := os.ReadFile(filepath.Join(r.proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	// The name may hold spaces and parentheses: it ends at the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(data[i+1:])), true
}

// tree returns pid and its descendants, at most maxTree of them.
func (r *reader) tree(pid int) []int {
	if r.children == nil {
		r.children = map[int][]int{}
		entries, _ := os.ReadDir(r.proc)
		for _, e := range entries {
			child, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if f, ok := r.stat(child); ok && len(f) > 1 {
				if parent, err := strconv.Atoi(f[1]); err == nil {
					r.children[parent] = append(r.children[parent], child)
				}
			}
		}
	}
	out := []int{pid}
	for i := 0; i < len(out) && len(out) < maxTree; i++ {
		out = append(out, r.children[out[i]]...)
	}
	return out[:min(len(out), maxTree)]
}

// readInt reads a file that holds one whole number.
func readInt(file string) (int64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil
}

// statValue reads the value of key in a "key value" per line file
// (memory.stat, cpu.stat).
func statValue(file, key string) (int64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
