package apps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
	"github.com/slipway/slipway/supervisor"
)

// DefaultUIDBase is the first uid slipway gives an app when it runs as
// root: far above login users and the usual subordinate-uid ranges.
const DefaultUIDBase = 1_900_000_000

// Identities gives every app its sandbox. When slipway runs as root, each
// app has its own unprivileged user (uid = gid, allocated once in the
// history, never reused, no supplementary groups), with a passwd entry
// named slipway-UID so that tools asking for the user's name or home
// work. Before an app's first process it prepares the app's directories:
// the app may enter its own, write only its HOME, TMPDIRs and build cache,
// and read its releases; everything else in the data dir is slipway's.
type Identities struct {
	layout slipway.Layout
	store  IdentityStore
	root   bool
	logger *slog.Logger

	launcher string // slipway's executable, where apps' users may run it

	diskSize int64 // of each new app's own filesystem; 0: none (UseDisks)

	mu    sync.Mutex
	uids  slipway.UIDRange // what the apps' uids come from (ClaimUIDs)
	ready map[string]*supervisor.Sandbox
	warn  sync.Once // no useradd: said once
}

// IdentityStore is what Identities keep in the history (package sqlite).
type IdentityStore interface {
	slipway.IdentityStore
	slipway.ResourceStore
}

// NewIdentities returns the Identities of the data dir dataDir, giving
// uids from uidBase (DefaultUIDBase when 0) that no user or process of
// the host has, until ClaimUIDs claims the data dir's range on the host.
// With root false (slipway is not root) apps keep slipway's identity and
// only the sandbox's Landlock rules separate them.
func NewIdentities(dataDir string, store IdentityStore, root bool, uidBase int, logger *slog.Logger) *Identities {
	if uidBase <= 0 {
		uidBase = DefaultUIDBase
	}
	return &Identities{layout: slipway.Layout{Root: dataDir}, store: store, root: root,
		uids:   slipway.UIDRange{Base: uidBase, Count: UIDsPerDataDir, Free: uidFree},
		logger: logger, ready: map[string]*supervisor.Sandbox{}}
}

// Root reports whether apps get identities of their own.
func (ids *Identities) Root() bool { return ids.root }

// Sandbox returns the sandbox of app's processes of type process (web,
// worker, release, cron, build): its identity (its directories prepared
// the first time) and, when slipway is root, a cgroup named after the
// app with the app's limits for that type.
func (ids *Identities) Sandbox(app, process string) (*supervisor.Sandbox, error) {
	base, err := ids.identity(app)
	if err != nil {
		return nil, err
	}
	sb := *base
	if ids.root {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		limits, err := ids.store.AppLimits(ctx, app)
		if err != nil {
			return nil, err
		}
		sb.Limits = limits[slipway.AllProcesses].Over(limits[process]).WithDefaults()
		sb.Cgroup = ids.CgroupPrefix() + app
	}
	return &sb, nil
}

// CgroupPrefix starts the name of the cgroup of every process of this
// data dir's apps: slipway-HASH-, the hash naming the data dir, so that
// slipways of different data dirs on one host keep apart.
func (ids *Identities) CgroupPrefix() string {
	sum := sha256.Sum256([]byte(ids.layout.Root))
	return "slipway-" + hex.EncodeToString(sum[:4]) + "-"
}

// identity returns app's identity, preparing its directories the first
// time.
func (ids *Identities) identity(app string) (*supervisor.Sandbox, error) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if sb, ok := ids.ready[app]; ok {
		return sb, nil
	}
	sb := &supervisor.Sandbox{Launcher: ids.launcher}
	if ids.root {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		uid, err := ids.store.AppUID(ctx, app, ids.uids)
		cancel()
		if err != nil {
			return nil, err
		}
		sb.UID, sb.GID = uint32(uid), uint32(uid)
		ids.passwd(app, uid)
		if err := ids.disk(app, uid); err != nil {
			return nil, err
		}
	}
	if err := ids.prepare(app, sb); err != nil {
		return nil, fmt.Errorf("prepare the directories of %s: %w", app, err)
	}
	ids.ready[app] = sb
	return sb, nil
}

// Prepare gives app its identity, its own filesystem and its directories
// if it has none yet: before anything is written in its directory.
func (ids *Identities) Prepare(app string) error {
	_, err := ids.identity(app)
	return err
}

// Renamed drops what Sandbox remembers of app old, renamed: its identity
// stays with it, under the new name.
func (ids *Identities) Renamed(old string) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	delete(ids.ready, old)
}

// Forget drops what Sandbox remembers of app, which is gone, with its
// passwd entry: its uid is never given out again.
func (ids *Identities) Forget(app string) {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if sb, ok := ids.ready[app]; ok && sb.UID != 0 {
		if u, err := user.LookupId(strconv.Itoa(int(sb.UID))); err == nil && ids.ours(u) {
			if err := ids.run("userdel", u.Username); err == nil {
				ids.run("groupdel", u.Username)
			}
		}
	}
	delete(ids.ready, app)
}

// PrepareLauncher, when apps have users of their own, checks that they can
// reach the data dir and copies slipway's executable to DATA/bin/slipway,
// from which they can run it (slipway itself may live in a home directory
// no other user may enter). It returns a one-line error saying what to do
// when the data dir is out of their reach.
func (ids *Identities) PrepareLauncher() error {
	if !ids.root {
		return nil
	}
	for dir := filepath.Dir(ids.layout.Root); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the data dir %s is inside %s, which other users may not enter (mode %04o), and each app runs as a user of its own: use a data dir such as /var/lib/slipway, or chmod o+x %s", ids.layout.Root, dir, fi.Mode().Perm(), dir)
		}
		if dir == "/" || dir == "." {
			break
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(ids.layout.Root, "bin")
	if err := os.MkdirAll(bin, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(bin, 0o711); err != nil {
		return err
	}
	ids.launcher = filepath.Join(bin, "slipway")
	// The same binary as the last start's (a restart, not an upgrade):
	// nothing to write, and no room needed for a second copy meanwhile.
	// Both are read a buffer at a time: the binary is tens of megabytes,
	// which a slipway holding them whole keeps as its own for minutes.
	if fi, err := os.Lstat(ids.launcher); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == 0o755 && sameFile(exe, ids.launcher) {
		return nil
	}
	src, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer src.Close()
	return atomicfile.WriteFrom(ids.launcher, src, 0o755)
}

// sameFile reports whether files a and b hold the same bytes.
func sameFile(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	if sa, err := fa.Stat(); err != nil {
		return false
	} else if sb, err := fb.Stat(); err != nil || sa.Size() != sb.Size() {
		return false
	}
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF)
		}
	}
}

// SecureDataDir makes what slipway keeps in the data dir its own alone:
// the directory itself (which apps may only pass through when they have
// identities of their own, to reach their app dirs), the database, keys,
// token, repositories, hooks and the hook socket. It fixes a data dir
// made by an older slipway, whose files were world-readable.
func (ids *Identities) SecureDataDir() error {
	l := ids.layout
	through := fs.FileMode(0o700)
	if ids.root {
		through = 0o711 // enter, not list: the app dirs below are guarded one by one
	}
	for path, perm := range map[string]fs.FileMode{
		l.Root: through, filepath.Join(l.Root, "apps"): through,
		l.ReposDir(): 0o700, l.HooksDir(): 0o700, filepath.Join(l.Root, "run"): 0o700, l.DisksDir(): through,
	} {
		if err := os.MkdirAll(path, perm); err != nil {
			return err
		}
		if err := os.Chmod(path, perm); err != nil {
			return err
		}
	}
	for _, path := range []string{l.DB(), l.DB() + "-wal", l.DB() + "-shm", l.AffinityKey(), l.AdminToken(), l.AuthorizedKeys(), l.HostKey()} {
		if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// Every app dir is closed to other users until its app's first process
	// opens it to that app's group (prepare).
	dirs, _ := filepath.Glob(filepath.Join(l.Root, "apps", "*"))
	for _, d := range dirs {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() && fi.Mode().Perm()&0o007 != 0 {
			if err := os.Chmod(d, fi.Mode().Perm()&^0o007); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare makes the app's directories and gives them their owners: the
// app dir to slipway with the app's group (which may enter it), HOME,
// the build cache and the TMPDIRs' parent to the app.
func (ids *Identities) prepare(app string, sb *supervisor.Sandbox) error {
	l := ids.layout
	uid, gid := int(sb.UID), int(sb.GID)
	type dir struct {
		path     string
		uid, gid int
		perm     fs.FileMode
		tree     bool
	}
	appDir := l.AppDir(app)
	if real, err := filepath.EvalSymlinks(appDir); err == nil {
		appDir = real // the root of the app's own filesystem, not the link to it
	}
	dirs := []dir{
		{appDir, 0, gid, 0o750, false},
		{l.ReleasesDir(app), 0, gid, 0o750, false},
		{l.TmpRoot(app), 0, gid, 0o750, false},
		{l.Home(app), uid, gid, 0o700, true},
		{l.Cache(app), uid, gid, 0o700, true},
		{l.BuildHome(app), uid, gid, 0o700, false},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, 0o700); err != nil {
			return err
		}
		if !ids.root {
			if err := os.Chmod(d.path, 0o700); err != nil {
				return err
			}
			continue
		}
		if err := chownIfNot(d.path, d.uid, d.gid, d.tree); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.perm); err != nil {
			return err
		}
	}
	return nil
}

// chownIfNot gives path (and, with tree, all below it, as a cache or HOME
// written before the app had its own user) to uid:gid unless it is
// theirs already.
func chownIfNot(path string, uid, gid int, tree bool) error {
	if owned(path, uid, gid) {
		return nil
	}
	if !tree {
		return os.Lchown(path, uid, gid)
	}
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func owned(path string, uid, gid int) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid && int(st.Gid) == gid
}

// passwd makes sure uid has a passwd and a group entry, slipway-UID, with
// the app's HOME. Without useradd (or when it fails) apps still run; tools
// that look their user up then see a bare number, which is said once. A
// user slipway did not make for this data dir is never changed.
func (ids *Identities) passwd(app string, uid int) {
	ids.passwdEntry(uid, ids.layout.Home(app), "slipway app "+app)
}

// passwdEntry gives uid a passwd entry named slipway-UID with home, unless
// it has one; one of slipway's whose home moved (a rename) is updated.
func (ids *Identities) passwdEntry(uid int, home, comment string) {
	id := strconv.Itoa(uid)
	name := "slipway-" + id
	if u, err := user.LookupId(id); err == nil {
		switch {
		case u.HomeDir == home:
		case ids.ours(u): // the app was renamed
			ids.run("usermod", "-d", home, u.Username)
		default:
			ids.logger.Warn("the uid belongs to a user slipway did not make for this data dir: left as it is", "for", comment, "uid", uid, "user", u.Username, "home", u.HomeDir)
		}
		return
	}
	if _, err := user.LookupGroupId(id); err != nil {
		if err := ids.run("groupadd", "-g", id, name); err != nil {
			ids.warnNoPasswd(err)
			return
		}
	}
	if err := ids.run("useradd", "-M", "-N", "-u", id, "-g", id, "-d", home, "-s", "/usr/sbin/nologin", "-c", comment, name); err != nil {
		ids.warnNoPasswd(err)
	}
}

// ours reports whether u is a user slipway made for an app or a service
// of this data dir: named slipway-UID, with its HOME in the data dir's
// apps or services.
func (ids *Identities) ours(u *user.User) bool {
	return u.Username == "slipway-"+u.Uid && (strings.HasPrefix(u.HomeDir, filepath.Join(ids.layout.Root, "apps")+"/") ||
		strings.HasPrefix(u.HomeDir, ids.layout.ServicesDir()+"/"))
}

// run runs a user-management command, retrying while another holds the
// passwd lock (exit status 10 for useradd, groupadd and usermod).
func (ids *Identities) run(name string, args ...string) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var out []byte
		out, err = exec.Command(name, args...).CombinedOutput()
		var exit *exec.ExitError
		if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 10 {
			if err != nil {
				err = fmt.Errorf("%s: %v: %s", name, err, out)
			}
			return err
		}
		time.Sleep(50 * time.Millisecond) // the passwd lock is held for milliseconds
	}
	return err
}

func (ids *Identities) warnNoPasswd(err error) {
	ids.warn.Do(func() {
		ids.logger.Warn("apps run as their own uid without a passwd entry: tools that look up their user see a number", "err", err)
	})
}
