package apps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/appdisk"
)

// UseDisks gives every app made from now on a filesystem of its own of
// size bytes (package appdisk), and mounts those of the apps that have
// one (after a reboot). It returns why it cannot when slipway is not root
// or the host lacks what disks need: apps then write on the data dir's
// filesystem, as apps made before disks do.
func (ids *Identities) UseDisks(ctx context.Context, size int64) error {
	if err := appdisk.Supported(); err != nil {
		return err
	}
	for _, d := range ids.disks() {
		if err := d.Mount(ctx); err != nil {
			ids.logger.Error("mount an app's disk", "image", d.Image, "err", err)
		}
	}
	ids.diskSize = size
	return nil
}

// UnmountDisks unmounts the apps' disks at a clean stop, their processes
// stopped, so that nothing of the data dir stays mounted; the next start
// mounts them again. One still in use stays, which the log says.
func (ids *Identities) UnmountDisks() {
	for _, d := range ids.disks() {
		if err := d.Unmount(); err != nil {
			ids.logger.Warn("an app's disk stays mounted", "err", err)
		}
	}
}

// DiskSize is the size of each new app's own filesystem, 0 for none.
func (ids *Identities) DiskSize() int64 { return ids.diskSize }

// disks returns every app's disk in the data dir.
func (ids *Identities) disks() []appdisk.Disk {
	images, _ := filepath.Glob(filepath.Join(ids.layout.DisksDir(), "*.img"))
	out := make([]appdisk.Disk, len(images))
	for i, img := range images {
		out[i] = appdisk.Disk{Image: img, Dir: strings.TrimSuffix(img, ".img")}
	}
	return out
}

// diskOf returns the filesystem of the app whose uid is uid.
func (ids *Identities) diskOf(uid int) appdisk.Disk {
	img, dir := ids.layout.Disk(uid)
	return appdisk.Disk{Image: img, Dir: dir}
}

// disk makes app's directory a filesystem of its own when the app has no
// directory yet and disks are on, and mounts it when it is not (after a
// reboot). An app whose directory is a plain one (made before disks, or
// while they were off) keeps it.
func (ids *Identities) disk(app string, uid int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	link := ids.layout.AppDir(app)
	d := ids.diskOf(uid)
	fi, err := os.Lstat(link)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return d.Mount(ctx)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	case ids.diskSize == 0:
		return nil
	}
	if _, err := os.Stat(d.Image); err != nil {
		if err := ids.roomFor(app); err != nil {
			return err
		}
	}
	for _, dir := range []string{ids.layout.DisksDir(), filepath.Dir(link)} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return err
		}
	}
	if err := d.Create(ctx, ids.diskSize); err != nil {
		return fmt.Errorf("make the disk of %s: %w", app, err)
	}
	return os.Symlink(filepath.Join("..", "disks", strconv.Itoa(uid)), link)
}

// keepFree is what slipway keeps free on the data dir's filesystem of
// size bytes when it makes an app's disk: a tenth of it, at most 1G.
func keepFree(size int64) int64 { return min(size/10, 1<<30) }

// roomFor returns a one-line error when a new disk for app would leave
// less than keepFree on the data dir's filesystem.
func (ids *Identities) roomFor(app string) error {
	free, total, err := appdisk.Room(ids.layout.Root)
	if err != nil {
		return err
	}
	if keep := keepFree(total); free-ids.diskSize < keep {
		return slipway.Errorf(slipway.EINVALID, "no room for the disk of %s: each app gets %s of its own (--app-disk), the data dir's filesystem has %s free and slipway keeps %s of it: free space there, destroy an app, or start slipway with a smaller --app-disk",
			app, slipway.FormatBytes(ids.diskSize), roughBytes(free), roughBytes(keep))
	}
	return nil
}

// roughBytes shows n in whole kilobytes, megabytes or gigabytes,
// rounded down.
func roughBytes(n int64) string {
	switch {
	case n >= 10<<30:
		return strconv.FormatInt(n>>30, 10) + "G"
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + "M"
	}
	return strconv.FormatInt(n>>10, 10) + "K"
}

// diskOfApp returns app's own filesystem, when its directory links to one;
// an error when it links elsewhere.
func (ids *Identities) diskOfApp(app string) (appdisk.Disk, bool, error) {
	link := ids.layout.AppDir(app)
	target, err := os.Readlink(link)
	if err != nil {
		return appdisk.Disk{}, false, nil // no link: no disk of its own
	}
	uid, err := strconv.Atoi(filepath.Base(target))
	if err != nil || target != filepath.Join("..", "disks", filepath.Base(target)) {
		return appdisk.Disk{}, false, fmt.Errorf("%s links to %s, not to an app's disk", link, target)
	}
	return ids.diskOf(uid), true, nil
}

// RemoveDisk unmounts and removes app's own filesystem, with all it holds,
// and the link to it: the app is being destroyed, its processes stopped.
func (ids *Identities) RemoveDisk(app string) error {
	d, ok, err := ids.diskOfApp(app)
	if !ok {
		return err
	}
	if err := d.Remove(); err != nil {
		return err
	}
	return os.Remove(ids.layout.AppDir(app))
}

// DiskUsage says how much of its own filesystem app uses, or that it
// writes on the data dir's, for apps:info.
func (ids *Identities) DiskUsage(app string) string {
	d, ok, _ := ids.diskOfApp(app)
	if !ok {
		return "the data dir's filesystem, shared with slipway and the other apps"
	}
	used, size, err := d.Usage()
	if err != nil {
		return "its own filesystem, not mounted"
	}
	return fmt.Sprintf("%s of %s used (its own filesystem)", roughBytes(used), roughBytes(size))
}
