package slipway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Process is one process type of an app: a Procfile line such as
// "web: ./server --port $PORT".
type Process struct {
	Type    string
	Command string
}

// Procfile is an app's process types in the order the Procfile lists them.
type Procfile []Process

// Command returns the command of process type typ and whether it exists.
func (p Procfile) Command(typ string) (string, bool) {
	for _, proc := range p {
		if proc.Type == typ {
			return proc.Command, true
		}
	}
	return "", false
}

// ErrProcfile wraps every Procfile parse error.
var ErrProcfile = errors.New("invalid Procfile")

var processTypeRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$`)

// RouterProcess is the writer of the router's access lines in an app's
// log ("router: method=GET …"), as logs -p router and a drain's PROCID
// name it. No Procfile type may take the name: its lines would be mixed
// with the router's.
const RouterProcess = "router"

// ValidProcessType reports whether typ may name a process type, as a
// Procfile line or app.json's formation does.
func ValidProcessType(typ string) bool { return processTypeRE.MatchString(typ) }

// maxProcfileSize bounds what ParseProcfile reads: a Procfile is a handful of
// lines, and a pushed file is untrusted input.
const maxProcfileSize = 64 << 10

// ParseProcfile parses a Procfile the way Heroku does: one "type: command"
// per line, blank lines and lines starting with # ignored. A type named
// RouterProcess is refused. Errors name the line and wrap ErrProcfile.
func ParseProcfile(data []byte) (Procfile, error) {
	if len(data) > maxProcfileSize {
		return nil, fmt.Errorf("%w: larger than %d KiB", ErrProcfile, maxProcfileSize>>10)
	}
	var procs Procfile
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	// +1: a Scanner refuses a token that fills its whole buffer, which would
	// refuse a one-line file of exactly maxProcfileSize bytes.
	sc.Buffer(make([]byte, 0, 4096), maxProcfileSize+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, cmd, ok := strings.Cut(line, ":")
		typ, cmd = strings.TrimSpace(typ), strings.TrimSpace(cmd)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: line %d: want \"type: command\"", ErrProcfile, n)
		case CheckProcessType(typ) != nil:
			return nil, fmt.Errorf("%w: line %d: %v", ErrProcfile, n, CheckProcessType(typ))
		case cmd == "":
			return nil, fmt.Errorf("%w: line %d: process type %q has no command", ErrProcfile, n, typ)
		case strings.ContainsRune(cmd, 0):
			return nil, fmt.Errorf("%w: line %d: command contains a NUL byte", ErrProcfile, n)
		case seen[typ]:
			return nil, fmt.Errorf("%w: line %d: process type %q is listed twice", ErrProcfile, n, typ)
		}
		seen[typ] = true
		procs = append(procs, Process{Type: typ, Command: cmd})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProcfile, err)
	}
	return procs, nil
}

// CheckProcessType says what is wrong with typ as a process type, nil
// when nothing: it names processes, their logs and their files, so it is
// letters, digits, - and _ alone, and "router" is the router's.
func CheckProcessType(typ string) error {
	switch {
	case !processTypeRE.MatchString(typ):
		return fmt.Errorf("process type %q: use letters, digits, - and _", typ)
	case typ == RouterProcess:
		return fmt.Errorf("process type %q is reserved for the router's access lines (logs -p router): rename it, e.g. to \"proxy\", and push again", typ)
	}
	return nil
}
