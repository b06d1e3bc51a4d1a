package slipway

import (
	"context"
	"strconv"
	"strings"
)

// Limits bound what one process of an app, with everything it starts,
// may use (Dokku's resource:limit). A zero field sets no limit.
type Limits struct {
	Memory int64   `json:"memory,omitempty"` // bytes
	CPU    float64 `json:"cpu,omitempty"`    // cores
	PIDs   int64   `json:"pids,omitempty"`   // processes and threads
}

// DefaultPIDs is the pids limit of an app's process (with everything it
// starts) when resources:set sets none: a fork bomb stops there, and the
// host keeps processes for slipway and the other apps.
const DefaultPIDs = 1024

// WithDefaults returns l with DefaultPIDs where it sets no pids limit.
func (l Limits) WithDefaults() Limits {
	if l.PIDs == 0 {
		l.PIDs = DefaultPIDs
	}
	return l
}

// Over returns l with every field that o sets taken from o.
func (l Limits) Over(o Limits) Limits {
	if o.Memory > 0 {
		l.Memory = o.Memory
	}
	if o.CPU > 0 {
		l.CPU = o.CPU
	}
	if o.PIDs > 0 {
		l.PIDs = o.PIDs
	}
	return l
}

// String shows the limits as resources:set takes them:
// "memory=512M cpu=1.5 pids=256", or "none".
func (l Limits) String() string {
	var s []string
	if l.Memory > 0 {
		s = append(s, "memory="+FormatBytes(l.Memory))
	}
	if l.CPU > 0 {
		s = append(s, "cpu="+strconv.FormatFloat(l.CPU, 'f', -1, 64))
	}
	if l.PIDs > 0 {
		s = append(s, "pids="+strconv.FormatInt(l.PIDs, 10))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

// FormatBytes shows n as resources:set takes it: 512M, 2G, 1536K.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// HumanBytes is a size as people read it: 512B, 8.5K, 23M, 1.2G.
func HumanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	for _, unit := range []string{"K", "M", "G", "T"} {
		f /= 1024
		if f < 1024 || unit == "T" {
			if f < 10 {
				return strconv.FormatFloat(f, 'f', 1, 64) + unit
			}
			return strconv.FormatFloat(f, 'f', 0, 64) + unit
		}
	}
	return "" // not reached
}

// SetLimit sets one KEY=VALUE of resources:set in l: memory=512M (K, M,
// G or bytes, at least 4M), cpu=1.5 (cores, 0.01 to 1024), pids=256 (at
// least 8).
func (l *Limits) SetLimit(kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	if !ok {
		return Errorf(EINVALID, "%q: want KEY=VALUE such as memory=512M, cpu=1.5 or pids=256", kv)
	}
	switch key {
	case "memory":
		n, err := parseBytes(value)
		if err != nil || n < 4<<20 {
			return Errorf(EINVALID, "memory=%s: want a size of at least 4M, such as 512M or 2G", value)
		}
		l.Memory = n
	case "cpu":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0.01 || f > 1024 {
			return Errorf(EINVALID, "cpu=%s: want a number of cores from 0.01 to 1024, such as 1.5", value)
		}
		l.CPU = f
	case "pids":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 8 || n > 1<<22 {
			return Errorf(EINVALID, "pids=%s: want a number of processes of at least 8, such as 256", value)
		}
		l.PIDs = n
	default:
		return Errorf(EINVALID, "unknown resource %q: use memory, cpu or pids", key)
	}
	return nil
}

// Unset clears limit key (memory, cpu or pids) of l.
func (l *Limits) Unset(key string) error {
	switch key {
	case "memory":
		l.Memory = 0
	case "cpu":
		l.CPU = 0
	case "pids":
		l.PIDs = 0
	default:
		return Errorf(EINVALID, "unknown resource %q: use memory, cpu or pids", key)
	}
	return nil
}

// ParseBytes reads a size as resources:set and the size flags take it:
// bytes, or a number with K, M or G.
func ParseBytes(s string) (int64, error) { return parseBytes(s) }

func parseBytes(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, Errorf(EINVALID, "bad size")
	}
	return n * mult, nil
}

// AllProcesses is the process type of the limits that hold for every
// process of an app unless its own type sets them.
const AllProcesses = "*"

// ResourceStore keeps each app's limits, by process type (AllProcesses,
// web, worker, …, build).
type ResourceStore interface {
	AppLimits(ctx context.Context, app string) (map[string]Limits, error)
	SetAppLimits(ctx context.Context, app, process string, l Limits) error
}

// Caps on what one app may run, checked when a release starts or is
// scaled.
const (
	MaxInstances    = 64 // summed over every process type
	MaxProcessTypes = 16 // Procfile lines
)
