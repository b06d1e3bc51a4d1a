package appdisk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slipway/slipway/internal/testutil"
)

func newDisk(t *testing.T) Disk {
	t.Helper()
	if err := Supported(); err != nil {
		needTools(t)
		t.Skip(err)
	}
	dir := t.TempDir()
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o711); err != nil { // the filler passes through
			t.Fatal(err)
		}
	}
	// A filesystem of the test's own, whose free space nothing else
	// changes.
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64M,mode=0711"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DetachUnder(filepath.Dir(dir)) })
	return Disk{Image: filepath.Join(dir, "1900000000.img"), Dir: filepath.Join(dir, "1900000000")}
}

// needTools ends the test with testutil.Missing when root lacks a program
// a disk needs: under CI that fails, where not being root or having no
// loop devices only skips.
func needTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		testutil.NeedTool(t, "mkfs.ext4", "e2fsprogs")
		testutil.NeedTool(t, "mount", "mount")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// A user filling its disk stops at the disk's size with ENOSPC, while the
// filesystem holding the image keeps its room, and root can still write
// there (the logs slipway keeps of the app).
func TestDisk_AFillerStopsAtItsSize(t *testing.T) {
	d := newDisk(t)
	setpriv := testutil.NeedTool(t, "setpriv", "util-linux")
	ctx := testContext(t)
	const size = 32 << 20
	if err := d.Create(ctx, size); err != nil {
		t.Fatal(err)
	}
	if !Mounted(d.Dir) {
		t.Fatal("the disk is not mounted after Create")
	}
	hostFree, _, err := Room(filepath.Dir(d.Image))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d.Dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	filler := exec.CommandContext(ctx, setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
		"dd", "if=/dev/zero", "of="+filepath.Join(d.Dir, "fill"), "bs=1M", "count=64")
	out, err := filler.CombinedOutput()
	if err == nil {
		t.Fatalf("dd wrote 64M on a 32M disk: %s", out)
	}
	fi, err := os.Stat(filepath.Join(d.Dir, "fill"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if fi.Size() > size {
		t.Errorf("the filler wrote %d bytes on a disk of %d", fi.Size(), size)
	}
	afterFree, _, err := Room(filepath.Dir(d.Image))
	if err != nil {
		t.Fatal(err)
	}
	if afterFree < hostFree-(1<<20) {
		t.Errorf("the host lost %d bytes to a filler of a preallocated disk", hostFree-afterFree)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, "root.log"), make([]byte, 256<<10), 0o600); err != nil {
		t.Errorf("root cannot write on the app's full disk: %v", err)
	}
	used, total, err := d.Usage()
	if err != nil || used < 16<<20 || total > size {
		t.Errorf("Usage = %d of %d, %v; want most of a %d disk used", used, total, err, size)
	}
}

// A disk survives being unmounted (a reboot) with what it held, and
// Remove leaves nothing.
func TestDisk_RemountRemove(t *testing.T) {
	d := newDisk(t)
	ctx := testContext(t)
	if err := d.Create(ctx, 16<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, "kept"), []byte("yes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Unmount(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "kept")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("kept is still there after Unmount: %v", err)
	}
	if err := d.Create(ctx, 16<<20); err != nil { // the image exists: mounted as it is
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(d.Dir, "kept")); err != nil || string(data) != "yes" {
		t.Fatalf("after a remount kept = %q, %v", data, err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d.Image, d.Dir} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after Remove: %v", p, err)
		}
	}
}

// A disk in use when it is removed (a process of the app that outlived
// its stop holds it) is detached rather than left mounted.
func TestDisk_RemoveWhileInUse(t *testing.T) {
	d := newDisk(t)
	ctx := testContext(t)
	if err := d.Create(ctx, 16<<20); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(d.Dir, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if Mounted(d.Dir) {
		t.Error("the disk is still mounted")
	}
	if _, err := f.Write([]byte("still works")); err != nil && !errors.Is(err, syscall.EIO) {
		t.Errorf("the open file broke: %v", err)
	}
}
