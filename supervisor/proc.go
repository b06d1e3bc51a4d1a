package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway/slipway/internal/procfs"
)

// OwnsListener reports whether the TCP sockets listening on port all
// belong to p or a process it started, and there is at least one: an
// answer on the port then comes from p, not from a process that took the
// port over (another app's, say).
func (p *Process) OwnsListener(port int) (bool, error) {
	inodes, err := listeners(port)
	if err != nil || len(inodes) == 0 {
		return false, err
	}
	mine := treeSockets(p.PID())
	for _, ino := range inodes {
		if !mine[ino] {
			return false, nil
		}
	}
	return true, nil
}

// listeners returns the socket inodes listening on TCP port, v4 and v6.
func listeners(port int) ([]string, error) {
	var out []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(n) == port {
				out = append(out, fields[9])
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
	}
	return out, nil
}

// treeSockets returns the inodes of the sockets that pid and its
// descendants hold open.
func treeSockets(pid int) map[string]bool {
	sockets := map[string]bool{}
	childrenOf := childLister()
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		dir := "/proc/" + strconv.Itoa(queue[0]) + "/fd"
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if ino, ok := strings.CutPrefix(link, "socket:["); ok && err == nil {
				sockets[strings.TrimSuffix(ino, "]")] = true
			}
		}
		queue = append(queue, childrenOf(queue[0])...)
	}
	return sockets
}

// childLister returns a function that lists a process's children: from
// /proc/PID/task/TID/children where the kernel has it (no scan of every
// process), else from one scan of every process's parent.
func childLister() func(pid int) []int {
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children"); err == nil {
		return func(pid int) []int {
			var out []int
			tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
			for _, t := range tasks {
				data, _ := os.ReadFile(t)
				for _, f := range strings.Fields(string(data)) {
					if c, err := strconv.Atoi(f); err == nil {
						out = append(out, c)
					}
				}
			}
			return out
		}
	}
	children := map[int][]int{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		child, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if st, ok := procStat(child); ok {
			children[st.ppid] = append(children[st.ppid], child)
		}
	}
	return func(pid int) []int { return children[pid] }
}

// stat is what slipway reads of /proc/PID/stat.
type stat struct {
	state byte // R, S, D, Z (a zombie: exited, not yet reaped), …
	ppid  int
	start uint64 // clock ticks since boot
}

// procStat reads /proc/PID/stat (procfs.ReadStat).
func procStat(pid int) (stat, bool) {
	st, ok := procfs.ReadStat(pid)
	return stat{state: st.State, ppid: st.PPID, start: st.Start}, ok
}

// StartTicks returns the kernel's start time of process pid (field 22 of
// /proc/PID/stat, in clock ticks since boot), or 0 when it is gone. A pid
// and its start time name one process: a recycled pid has another.
func StartTicks(pid int) uint64 {
	st, _ := procStat(pid)
	return st.start
}

// clockTicks is the unit of /proc/PID/stat's times: USER_HZ, which Linux
// keeps at 100 for user space on every architecture.
const clockTicks = 100

// startTime returns when a process that started ticks after boot started.
func startTime(ticks uint64) time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Now()
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if boot, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(boot, 0).Add(time.Duration(ticks) * time.Second / clockTicks)
			}
		}
	}
	return time.Now()
}

// ParentPID returns the parent of process pid, or -1 when it is gone.
func ParentPID(pid int) int { return procfs.ParentPID(pid) }

// Alive reports whether pid still names the process that started at
// ticks and it has not exited.
func Alive(pid int, ticks uint64) bool {
	st, ok := procStat(pid)
	return ok && pid > 1 && ticks != 0 && st.start == ticks && st.state != 'Z'
}

// KillRecorded ends the process group of pid, a process a slipway that
// died left running, when pid still names that process (its start time is
// ticks). It reports whether it did.
func KillRecorded(pid int, ticks uint64) bool {
	if pid <= 1 || ticks == 0 || StartTicks(pid) != ticks {
		return false
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
	return true
}
