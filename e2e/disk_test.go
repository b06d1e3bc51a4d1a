package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/slipway/slipway/appdisk"
	"github.com/slipway/slipway/internal/testutil"
)

// An app filling its HOME fills its own disk and nothing else. With the
// data dir on a small filesystem, another app still deploys and changes
// its config, and so does the filler; apps:info says how full its disk
// is; an app whose disk would leave slipway too little room is refused
// in one line, and destroying the filler gives its room back.
func TestDisk_AHomeFillerIsContained(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("an app's own disk needs slipway to run as root")
	}
	if err := appdisk.Supported(); err != nil {
		testutil.NeedTool(t, "mkfs.ext4", "e2fsprogs")
		testutil.NeedTool(t, "mount", "mount")
		t.Skip(err)
	}
	s := newServer(t, os.Geteuid())
	// The data dir on a tmpfs of slipway's copy of itself (DATA/bin, its
	// launcher) and 206M: two apps' 64M disks fit, a third would leave
	// less than the tenth slipway keeps.
	keys, err := os.ReadFile(filepath.Join(s.dataDir, "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", s.dataDir, "tmpfs", 0, fmt.Sprintf("size=%dM,mode=0755", binaryMB(t)+206)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dataDir, "authorized_keys"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	s.start("--app-disk", "64M")

	s.mustGit(s.newApp(hungryApp()), "push", s.remote("filler"), "main")
	good := s.newApp(staticApp("v1"))
	s.mustGit(good, "push", s.remote("good"), "main")

	_, body := s.get("filler", "/fill")
	var filled int64
	var why string
	if _, err := fmt.Sscanf(body, "filled %d: %s", &filled, &why); err != nil || filled > 64<<20 || filled < 32<<20 || !strings.Contains(body, "No space left") {
		t.Fatalf("/fill answered %q: want most of 64M written, then no space left", body)
	}
	free, _, err := appdisk.Room(s.dataDir)
	if err != nil || free < 16<<20 {
		t.Fatalf("after the filler, the data dir has %d bytes free (%v): the filler reached it", free, err)
	}

	// Everything else goes on: the other app deploys and changes its
	// config, and the filler's own config release goes live.
	s.commit(good, "second version", staticApp("v2"))
	s.mustGit(good, "push", s.remote("good"), "main")
	s.wantServes("good", "/", "hello from v2")
	if out, err := s.ssh(s.key, "config:set", "good", "GREETING=hi"); err != nil {
		t.Fatalf("config:set good: %v\n%s", err, out)
	}
	if out, err := s.ssh(s.key, "config:set", "filler", "FULL=yes"); err != nil {
		t.Fatalf("config:set on the full app: %v\n%s", err, out)
	}
	s.wantServes("filler", "/", "fed")
	info := s.mustSSH("apps:info", "filler")
	if !strings.Contains(info, "Disk:") || !strings.Contains(info, "used (its own filesystem)") {
		t.Errorf("apps:info says nothing of the filler's disk:\n%s", info)
	}

	// No room for a third disk: one line, and no app made.
	out, err := s.ssh(s.key, "apps:create", "third")
	if err == nil || !strings.Contains(out, "no room for the disk of third") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Fatalf("apps:create with no room: %v\n%s", err, out)
	}
	if list := s.mustSSH("apps:list"); strings.Contains(list, "third") {
		t.Errorf("a refused app is listed:\n%s", list)
	}

	// Destroying the filler removes its disk and gives the room back.
	s.mustSSH("apps:destroy", "filler", "--confirm", "filler")
	images, _ := filepath.Glob(filepath.Join(s.dataDir, "disks", "*.img"))
	if len(images) != 1 {
		t.Errorf("after destroying one of two apps, the disks are %v", images)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Count(string(mounts), filepath.Join(s.dataDir, "disks")+"/") != 1 {
		t.Errorf("after destroying one of two apps, the mounts under the data dir are:\n%s", grepLines(string(mounts), s.dataDir))
	}
	s.mustSSH("apps:create", "third")

	// A clean stop unmounts the disks, as a reboot would; the next start
	// mounts them again, and the apps find what they had.
	s.stop()
	disks := filepath.Join(s.dataDir, "disks") + "/"
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), disks) {
		t.Errorf("after a clean stop the disks are still mounted:\n%s", grepLines(string(mounts), disks))
	}
	s.start("--app-disk", "64M")
	s.wantServes("good", "/", "hello from v2")
	if out := s.mustSSH("apps:info", "good"); !strings.Contains(out, "used (its own filesystem)") {
		t.Errorf("after a restart apps:info good says:\n%s", out)
	}
}
