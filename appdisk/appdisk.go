package appdisk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSize is the size of an app's disk unless slipway serve's
// --app-disk says otherwise: room for a few releases of a typical Node or
// Python app with its build cache and logs.
const DefaultSize = 1 << 30

// MinSize is the smallest disk: ext4's journal and metadata take a few
// megabytes of it.
const MinSize = 16 << 20

// Disk is one app's filesystem.
type Disk struct {
	Image string // the ext4 image, DATA/disks/UID.img
	Dir   string // where it is mounted, DATA/disks/UID
}

// Supported returns nil when this host can give apps disks of their own:
// slipway is root, the kernel has loop devices and mkfs.ext4 is
// installed; else an error that says what is missing.
func Supported() error {
	if os.Geteuid() != 0 {
		return errors.New("slipway is not root, and only root can mount a disk per app")
	}
	if !mayMount() {
		return errors.New("slipway lacks CAP_SYS_ADMIN (a container not run with --privileged), which mounting each app's disk needs")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return errors.New("this host has no loop devices (/dev/loop-control), on which each app's disk is mounted")
	}
	for _, tool := range []string{"mkfs.ext4", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt install e2fsprogs mount)", tool)
		}
	}
	return nil
}

// mayMount reports whether this process has CAP_SYS_ADMIN, which mount
// needs.
func mayMount() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// Create makes the disk of size bytes and mounts it. A disk whose image
// exists already (an earlier Create cut off after making it) is mounted
// as it is.
func (d Disk) Create(ctx context.Context, size int64) error {
	if _, err := os.Stat(d.Image); err == nil {
		return d.Mount(ctx)
	}
	tmp := d.Image + ".tmp"
	os.Remove(tmp) // left by a Create cut off before the rename
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = fmt.Errorf("the data dir's filesystem cannot preallocate %s for an app's disk: keep the data dir on ext4, xfs or tmpfs, or start slipway with --app-disk 0", tmp)
	} else if err != nil {
		err = &os.PathError{Op: "fallocate", Path: tmp, Err: err}
	}
	if err == nil {
		// Lazy init: mkfs writes the inode tables and journal at first
		// mount, in the background, rather than now.
		err = run(ctx, "mkfs.ext4", "-q", "-F", "-m", "2", "-L", "slipway-app",
			"-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", tmp)
	}
	if err == nil {
		err = os.Rename(tmp, d.Image)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return d.Mount(ctx)
}

// Mount mounts the disk at Dir unless it is mounted already.
func (d Disk) Mount(ctx context.Context) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return err
	}
	if Mounted(d.Dir) {
		return nil
	}
	return run(ctx, "mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime", d.Image, d.Dir)
}

// Mounted reports whether dir is a mount point: it is on another device
// than its parent.
func Mounted(dir string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(dir, &st) != nil || unix.Stat(filepath.Dir(dir), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// Unmount unmounts the disk unless a process still uses it.
func (d Disk) Unmount() error { return d.unmount(0) }

// unmount unmounts the disk with flags (MNT_DETACH: even in use, its
// loop device going with the last user).
func (d Disk) unmount(flags int) error {
	if !Mounted(d.Dir) {
		return nil
	}
	if err := unix.Unmount(d.Dir, flags); err != nil && !errors.Is(err, unix.EINVAL) {
		return &os.PathError{Op: "unmount", Path: d.Dir, Err: err}
	}
	return nil
}

// DetachUnder detaches every mount below dir, deepest first, so that dir
// can be removed: the disks of a data dir that is thrown away (a test's,
// the load tool's). A disk a process still holds goes with the process.
func DetachUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	dir = filepath.Clean(dir)
	var points []string
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
}

// Remove unmounts the disk and removes it with all it holds. One still in
// use (a process of the app that outlived its stop) is detached first.
func (d Disk) Remove() error {
	if err := d.unmount(unix.MNT_DETACH); err != nil {
		return err
	}
	if err := os.Remove(d.Image); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(d.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Usage returns the bytes used on the mounted disk and its size as the
// app sees it (without the blocks kept for root).
func (d Disk) Usage() (used, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(d.Dir, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	reserved := int64(st.Bfree-st.Bavail) * bs
	size = int64(st.Blocks)*bs - reserved
	used = int64(st.Blocks-st.Bfree) * bs
	return used, size, nil
}

// Room returns the bytes unprivileged users may still write on the
// filesystem holding path, and its size.
func Room(path string) (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// run runs a tool with a time limit, returning its output in the error.
func run(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
