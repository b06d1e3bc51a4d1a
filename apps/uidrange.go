package apps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// DefaultUIDRegistry is the host's record of which data dir owns which
// uids, one line per data dir, as /etc/subuid is for user namespaces.
const DefaultUIDRegistry = "/etc/slipway/uid-ranges"

// UIDsPerDataDir is how many uids one data dir claims for its apps.
const UIDsPerDataDir = 65536

// UIDs returns the range the apps' uids come from (the one ClaimUIDs
// claimed).
func (ids *Identities) UIDs() slipway.UIDRange {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return ids.uids
}

// ClaimUIDs, when apps have users of their own, claims this data dir's
// range of uids in the host's registry (DefaultUIDRegistry when empty),
// under its lock: the range it had, else the one from base, else (base 0)
// the first free one from DefaultUIDBase. Two data dirs never share a
// uid: a base whose range overlaps another data dir's is refused with a
// line that says which. Within its range a data dir still gives no uid
// that a user or process of the host already has.
func (ids *Identities) ClaimUIDs(ctx context.Context, registry string, base int) error {
	if !ids.root {
		return nil
	}
	if registry == "" {
		registry = DefaultUIDRegistry
	}
	lo, hi, used, err := ids.store.UIDSpan(ctx)
	if err != nil {
		return err
	}
	var span *[2]int
	if used {
		span = &[2]int{lo, hi}
	}
	r, err := claimRange(registry, ids.layout.Root, base, span)
	if err != nil {
		return err
	}
	r.Free = uidFree
	ids.mu.Lock()
	ids.uids = r
	ids.mu.Unlock()
	ids.logger.Info("app uids", "first", r.Base, "last", r.Last(), "registry", registry)
	return nil
}

// claim is one line of the registry.
type claim struct {
	r   slipway.UIDRange
	dir string
}

// claimRange does ClaimUIDs' work on the registry file.
func claimRange(registry, dataDir string, base int, span *[2]int) (slipway.UIDRange, error) {
	fail := func(err error) (slipway.UIDRange, error) {
		return slipway.UIDRange{}, fmt.Errorf("the host's uid registry %s: %w", registry, err)
	}
	if err := os.MkdirAll(filepath.Dir(registry), 0o755); err != nil {
		return fail(err)
	}
	unlock, err := lockFile(registry + ".lock")
	if err != nil {
		return fail(err)
	}
	defer unlock()
	claims, err := readClaims(registry)
	if err != nil {
		return fail(err)
	}
	var others []claim
	for _, c := range claims {
		if c.dir == dataDir {
			if base != 0 && base != c.r.Base {
				return slipway.UIDRange{}, fmt.Errorf("the data dir %s has the uids %d-%d (%s): leave --uid-base out, or set it to %d", dataDir, c.r.Base, c.r.Last(), registry, c.r.Base)
			}
			return c.r, nil
		}
		if _, err := os.Stat(c.dir); errors.Is(err, fs.ErrNotExist) {
			continue // its data dir is gone: the range is free again (its users, if left, are skipped uid by uid)
		}
		others = append(others, c)
	}
	overlap := func(r slipway.UIDRange) *claim {
		for i := range others {
			if others[i].r.Overlaps(r) {
				return &others[i]
			}
		}
		return nil
	}
	var r slipway.UIDRange
	switch {
	case base != 0:
		r = slipway.UIDRange{Base: base, Count: UIDsPerDataDir}
		if span != nil && (span[0] < r.Base || span[1] > r.Last()) {
			return slipway.UIDRange{}, fmt.Errorf("this data dir's apps have the uids %d-%d, outside --uid-base %d's range %d-%d: leave --uid-base out, or set it to %d", span[0], span[1], base, r.Base, r.Last(), span[0])
		}
		if o := overlap(r); o != nil {
			return slipway.UIDRange{}, fmt.Errorf("--uid-base %d: the uids %d-%d overlap %d-%d, which belong to the data dir %s (%s): leave --uid-base out to take a free range, or give one at least %d from theirs", base, r.Base, r.Last(), o.r.Base, o.r.Last(), o.dir, registry, UIDsPerDataDir)
		}
	case span != nil: // a data dir from before the registry: its apps keep their uids
		r = slipway.UIDRange{Base: span[0], Count: max(UIDsPerDataDir, span[1]-span[0]+1)}
		if o := overlap(r); o != nil {
			return slipway.UIDRange{}, fmt.Errorf("this data dir's apps have the uids %d-%d, which overlap %d-%d of the data dir %s (%s): two slipways gave their apps the same users; stop one, and give it a data dir of its own with its apps pushed again", span[0], span[1], o.r.Base, o.r.Last(), o.dir, registry)
		}
	default:
		for b := DefaultUIDBase; ; b += UIDsPerDataDir {
			if b+UIDsPerDataDir > 1<<32-2 {
				return fail(fmt.Errorf("no free range of %d uids is left", UIDsPerDataDir))
			}
			r = slipway.UIDRange{Base: b, Count: UIDsPerDataDir}
			if overlap(r) == nil {
				break
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# slipway: the uids each data dir gives its apps (first, count, data dir); slipway serve adds its line\n")
	for _, c := range append(others, claim{r, dataDir}) {
		fmt.Fprintf(&buf, "%d %d %s\n", c.r.Base, c.r.Count, c.dir)
	}
	if err := atomicfile.Write(registry, buf.Bytes(), 0o644); err != nil {
		return fail(err)
	}
	return r, nil
}

// readClaims reads the registry; a missing one holds no claim.
func readClaims(path string) ([]claim, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var claims []claim
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		var c claim
		var err1, err2 error
		if len(f) == 3 {
			c.r.Base, err1 = strconv.Atoi(f[0])
			c.r.Count, err2 = strconv.Atoi(f[1])
			c.dir = f[2]
		}
		if len(f) != 3 || err1 != nil || err2 != nil || c.r.Count <= 0 || !filepath.IsAbs(c.dir) {
			return nil, fmt.Errorf("line %d is not FIRST COUNT DATADIR: fix or remove it", n)
		}
		claims = append(claims, c)
	}
	return claims, sc.Err()
}

// lockFile takes an exclusive lock on path, waiting at most 10 s for
// another slipway that holds it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond) // held for the milliseconds of one claim
	}
}

// uidFree reports whether no user, group or process of the host has uid.
func uidFree(uid int) bool {
	id := strconv.Itoa(uid)
	if _, err := user.LookupId(id); !errors.As(err, new(user.UnknownUserIdError)) {
		return false
	}
	if _, err := user.LookupGroupId(id); !errors.As(err, new(user.UnknownGroupIdError)) {
		return false
	}
	return !processOf(uid)
}

// processOf reports whether a process of the host runs with uid as its
// real, effective, saved or filesystem uid.
func processOf(uid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell: not free
	}
	want := strconv.Itoa(uid)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue // ended meanwhile
		}
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				for _, f := range strings.Fields(rest) {
					if f == want {
						return true
					}
				}
				break
			}
		}
	}
	return false
}
