package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of utime and stime.
const clockTick = 100

// status returns the fields of /proc/PID/status in kB (VmRSS, RssAnon,
// RssFile) or counts (Threads).
func status(pid int) map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out
	}
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) > 0 {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				out[k] = n
			}
		}
	}
	return out
}

// cpuTime returns the CPU time pid has used (utime+stime).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// After "(comm)": state ppid … utime is the 12th field, stime the 13th.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / clockTick, nil
}

// pss returns the proportional set size of pid in kB.
func pss(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// hash8 is how slipway names what belongs to a data dir on the host: the
// first 4 bytes of the SHA-256 of its absolute path, in hex.
func hash8(data string) string {
	sum := sha256.Sum256([]byte(data))
	return hex.EncodeToString(sum[:4])
}

// cgroupPrefix starts the name of every cgroup of the apps of data
// (apps.Identities.CgroupPrefix).
func cgroupPrefix(data string) string { return "slipway-" + hash8(data) + "-" }

// chainName is the iptables chain of the slipway of data
// (netfilter.ChainFor).
func chainName(data string) string { return "SLIPWAY-" + hash8(data) }

// v1Subsystems are the cgroup v1 hierarchies slipway makes its apps'
// cgroups in.
var v1Subsystems = []string{"memory", "cpu", "pids", "freezer"}

// appCgroups returns the directories of data's apps' cgroups: below
// slipway's own cgroup (this tool's, as slipway is its child) in each v1
// hierarchy, or below it in the unified one.
func appCgroups(data string) []string {
	prefix := cgroupPrefix(data)
	var dirs []string
	for _, base := range ownCgroupDirs() {
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
				dirs = append(dirs, filepath.Join(base, e.Name()))
			}
		}
	}
	return dirs
}

// ownCgroupDirs returns this process's cgroup directories in the
// hierarchies slipway uses.
func ownCgroupDirs() []string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for line := range strings.Lines(strings.TrimSpace(string(data))) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if slices.Contains(v1Subsystems, c) {
				dirs = append(dirs, filepath.Join("/sys/fs/cgroup", c, f[2]))
			}
		}
		if f[0] == "0" && f[1] == "" {
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				dirs = append(dirs, filepath.Join("/sys/fs/cgroup", f[2]))
			}
		}
	}
	return dirs
}

// appPIDs returns the processes in data's apps' cgroups, sorted.
func appPIDs(data string) []int {
	seen := map[int]bool{}
	for _, dir := range appCgroups(data) {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				seen[pid] = true
			}
		}
	}
	pids := make([]int, 0, len(seen))
	for pid := range seen {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// leftovers says what of data's slipway is still on the host after it
// stopped: processes and cgroups of its apps, and its iptables chain.
func leftovers(ctx context.Context, data string) []string {
	var out []string
	if pids := appPIDs(data); len(pids) > 0 {
		out = append(out, fmt.Sprintf("%d app processes", len(pids)))
	}
	if cgs := appCgroups(data); len(cgs) > 0 {
		out = append(out, fmt.Sprintf("%d cgroups", len(cgs)))
	}
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if chainPresent(ctx, ipt, chainName(data)) {
			out = append(out, ipt+" chain "+chainName(data))
		}
	}
	return out
}

// chainPresent reports whether iptables (or ip6tables) has chain.
func chainPresent(ctx context.Context, iptables, chain string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, iptables, "-w", "5", "-S").Output()
	return err == nil && strings.Contains(string(out), "-N "+chain+"\n")
}

// cleanUp removes what data's slipway left on the host: its apps'
// processes (SIGKILL, by their cgroups), their cgroups, its iptables chain,
// and the apps' users and groups (those whose HOME is in dir: slipway
// keeps an app's user as long as the app exists). It returns how many
// users it removed.
func cleanUp(ctx context.Context, data, dir string) int {
	for _, pid := range appPIDs(data) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for range 50 {
		if len(appPIDs(data)) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, cg := range appCgroups(data) {
		os.Remove(cg)
	}
	chain := chainName(data)
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if chainPresent(ctx, ipt, chain) {
			for _, args := range [][]string{{"-D", "OUTPUT", "-j", chain}, {"-F", chain}, {"-X", chain}} {
				tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				exec.CommandContext(tctx, ipt, append([]string{"-w", "5"}, args...)...).Run()
				cancel()
			}
		}
	}
	return removeUsersUnder(ctx, dir)
}

// removeUsersUnder removes the users (and their groups) whose HOME is
// below dir, retrying while another holds the passwd lock (exit status
// 10), as internal/testutil.RemoveUsersUnder does.
func removeUsersUnder(ctx context.Context, dir string) int {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return 0
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		f := strings.Split(line, ":")
		if len(f) < 6 || !strings.HasPrefix(f[5], dir+"/") {
			continue
		}
		for _, tool := range []string{"userdel", "groupdel"} {
			for range 50 {
				tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := exec.CommandContext(tctx, tool, f[0]).Run()
				cancel()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 10 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		n++
	}
	return n
}

// usersUnder counts the users whose HOME is below dir.
func usersUnder(dir string) int {
	data, _ := os.ReadFile("/etc/passwd")
	n := 0
	for line := range strings.Lines(string(data)) {
		if f := strings.Split(line, ":"); len(f) > 5 && strings.HasPrefix(f[5], dir+"/") {
			n++
		}
	}
	return n
}

// removeAll removes dir, first making every directory in it writable
// (slipway leaves release directories read-only).
func removeAll(dir string) error {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// cpuTimes reads the busy and total jiffies of all CPUs from /proc/stat.
func cpuTimes() (busy, total uint64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
