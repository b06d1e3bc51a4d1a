package procfs

import (
	"os"
	"strconv"
	"strings"
)

// Stat is what slipway reads of /proc/PID/stat.
type Stat struct {
	State byte // R, S, D, Z (a zombie: exited, not yet reaped), …
	PPID  int
	Start uint64 // clock ticks since boot
}

// ReadStat reads /proc/PID/stat. Its second field, the command name, may
// hold spaces and parentheses: the fields after it are counted from the
// last ')'.
func ReadStat(pid int) (Stat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, false
	}
	fields := strings.Fields(s[i+1:]) // from field 3, state
	if len(fields) < 20 {
		return Stat{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	start, err2 := strconv.ParseUint(fields[19], 10, 64)
	if err1 != nil || err2 != nil {
		return Stat{}, false
	}
	return Stat{State: fields[0][0], PPID: ppid, Start: start}, true
}

// ParentPID returns the parent of process pid, or -1 when it is gone.
func ParentPID(pid int) int {
	if st, ok := ReadStat(pid); ok && pid > 0 {
		return st.PPID
	}
	return -1
}
