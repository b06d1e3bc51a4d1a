package supervisor

import (
	"fmt"
	"strconv"
	"strings"
)

// launchArg is argv[1] of a launcher started with the options of
// encodeLaunch, which launcher.c reads before the Go runtime starts (and
// Reexec after, where the C launcher leaves it to Go). reexecArg, with the
// sandbox as JSON, is what a slipway of before starts: the launcher
// binary is shared during an upgrade, so Reexec still takes it.
const launchArg = "__slipway_launch"

// encodeLaunch writes sb as the launcher's options, one argument each:
// u=UID g=GID h (hold) s (shm) m (own mounts) r=PATH w=PATH p=PORT.
// Arguments hold any byte but NUL, so paths need no quoting.
func encodeLaunch(sb *Sandbox) []string {
	opts := []string{"u=" + strconv.FormatUint(uint64(sb.UID), 10), "g=" + strconv.FormatUint(uint64(sb.GID), 10)}
	if sb.Hold {
		opts = append(opts, "h")
	}
	if sb.Shm {
		opts = append(opts, "s")
	}
	if sb.OwnMounts {
		opts = append(opts, "m")
	}
	for _, p := range sb.Read {
		opts = append(opts, "r="+p)
	}
	for _, p := range sb.Write {
		opts = append(opts, "w="+p)
	}
	for _, p := range sb.Ports {
		opts = append(opts, "p="+strconv.Itoa(p))
	}
	return opts
}

// decodeLaunch reads encodeLaunch's options up to "--" and returns the
// sandbox and the program's argv.
func decodeLaunch(args []string) (*Sandbox, []string, error) {
	sb := &Sandbox{}
	for i, a := range args {
		if a == "--" {
			if i+1 >= len(args) {
				break
			}
			return sb, args[i+1:], nil
		}
		key, val, _ := strings.Cut(a, "=")
		var err error
		switch key {
		case "h":
			sb.Hold = true
		case "s":
			sb.Shm = true
		case "m":
			sb.OwnMounts = true
		case "r":
			sb.Read = append(sb.Read, val)
		case "w":
			sb.Write = append(sb.Write, val)
		case "p":
			var p int
			p, err = strconv.Atoi(val)
			sb.Ports = append(sb.Ports, p)
		case "u", "g":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 32)
			if key == "u" {
				sb.UID = uint32(n)
			} else {
				sb.GID = uint32(n)
			}
		default:
			err = fmt.Errorf("unknown option %q", a)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("bad launcher option %q: %v", a, err)
		}
	}
	return nil, nil, fmt.Errorf("usage: slipway %s OPTIONS -- PROGRAM ARGS... (started by slipway, not by people)", launchArg)
}
