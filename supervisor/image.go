// Running an instance from an image: the process slipway starts and
// supervises is `runc run`, in the foreground, and runc runs the image's
// command in a container of its own. Everything else is a process's as
// always: the launcher (with Sandbox.OwnMounts, so Landlock confines the
// ports runc and the container may bind, and their signals), the cgroup and
// its limits, the log file, the stop, the adoption by a later slipway.

package supervisor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ImageRun says how to run a process from an unpacked image: set as
// Spec.Image, it replaces Spec.Command and Spec.Dir. The container runs as
// Spec.Sandbox's UID and GID, with its ports, cgroup and limits (runc
// itself as root); without a Sandbox, as root without capabilities, and
// unconfined on ports.
type ImageRun struct {
	// Rootfs is the unpacked image's root, mounted read-only as the
	// container's /. runc makes the mount points it lacks in it (/proc,
	// /dev, /sys, /tmp, /etc/hosts, /etc/resolv.conf and the Mounts'):
	// unpack images with them to keep it untouched.
	Rootfs string
	// Args is the command run inside: the image's ENTRYPOINT and CMD, or a
	// Procfile command as ["/bin/sh", "-c", COMMAND].
	Args []string
	// WorkDir is its working directory inside; "/" when empty.
	WorkDir string
	// Env is the image's environment. Spec.Env is laid over it (PORT,
	// HOME, the app's config), but for PATH: the image's own wins, as the
	// host's names the host's directories. TMPDIR is /tmp, the process's
	// own TMPDIR mounted there.
	Env []string
	// Mounts are the host directories the process may write, mounted
	// read-write: the app's HOME.
	Mounts []ImageMount
	// Hostname is the container's; the host's when empty.
	Hostname string
	// NetNS is the path of a network namespace the container joins
	// (/var/run/netns/NAME, made by `ip netns add`); the host's network
	// when empty. The caller makes it and removes it.
	NetNS string
	// StateDir is runc's state directory (runc --root), where it keeps
	// each container it runs until it ends; DefaultStateDir when empty. A
	// later slipway that adopts the process must be given the same one.
	StateDir string
	// Runtime is the runc executable; "runc" in PATH when empty.
	Runtime string
}

// ImageMount is a host directory mounted read-write into a container.
type ImageMount struct {
	Source, Destination string
}

// DefaultStateDir is runc's state directory when ImageRun.StateDir is
// empty: on /run, a tmpfs, so it outlives slipway (an upgrade, a restart,
// kill -9) as the containers do, and goes with them at a reboot. Container
// names hold the data dir's cgroup prefix, so slipways of different data
// dirs can share it.
const DefaultStateDir = "/run/slipway/runc"

// runtimePath is the ImageRun's `runc` executable, or the error that says
// how to get it.
func (im *ImageRun) runtimePath() (string, error) {
	name := im.Runtime
	if name == "" {
		name = "runc"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("image releases need runc, which is not installed (%s): install the Debian package runc", name)
	}
	return path, nil
}

func (im *ImageRun) stateDir() string {
	if im.StateDir == "" {
		return DefaultStateDir
	}
	return im.StateDir
}

// bundleDir is the OCI bundle (its config.json) of the process whose
// TMPDIR is tmp: beside it, removed with it.
func bundleDir(tmp string) string { return tmp + ".oci" }

// containerID names the container of a start: after its cgroup, whose name
// is unique to the start and holds the data dir's prefix, so that what
// keeps a cgroup (KillLeftovers) keeps its container (SweepContainers);
// else after its TMPDIR, also unique.
func containerID(cgroup, tmp string) string {
	if cgroup != "" {
		return cgroup
	}
	sum := sha256.Sum256([]byte(tmp))
	return "slipway-" + filepath.Base(tmp) + "-" + hex.EncodeToString(sum[:6])
}

// startImage is Start for a Spec with Image: it returns the launch of
// `runc run` with the container's bundle written, and the bundle. With
// terminal, the container gets a terminal of its own, which runc copies
// to and from its stdin and stdout: they must be a terminal.
func startImage(s Spec, tmp string, terminal bool) (*launch, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("start %s: image releases need slipway to run as root (runc makes each container's namespaces and mounts)", s.ID)
	}
	im := s.Image
	if len(im.Args) == 0 {
		return nil, fmt.Errorf("start %s: the image has no command to run", s.ID)
	}
	// An image's WORKDIR is the pusher's: one in /proc (a descriptor runc
	// leaked, CVE-2024-21626) would open the host's files.
	if w := im.WorkDir; w != "" && (!filepath.IsAbs(w) || filepath.Clean(w) == "/proc" || strings.HasPrefix(filepath.Clean(w), "/proc/")) {
		return nil, fmt.Errorf("start %s: the image's working directory %q is not an absolute path outside /proc", s.ID, w)
	}
	runc, err := im.runtimePath()
	if err != nil {
		return nil, err
	}
	var user Sandbox // the app's identity, inside the container
	if s.Sandbox != nil {
		user = *s.Sandbox
	}
	if user.UID != 0 {
		if err := os.Chown(tmp, int(user.UID), int(user.GID)); err != nil {
			return nil, err
		}
	}
	state := im.stateDir()
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, fmt.Errorf("runc's state dir: %w", err)
	}
	bundle := bundleDir(tmp)
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return nil, err
	}
	// runc itself runs as root, confined only on its network and signals,
	// which the container inherits: it may bind nothing but the ports.
	var sb *Sandbox
	if s.Sandbox != nil {
		c := *s.Sandbox
		c.UID, c.GID, c.Read, c.Write, c.OwnMounts = 0, 0, nil, nil, true
		sb = &c
	}
	// The container's name is its cgroup's, known once command made it:
	// the last argument is set below.
	l, err := command(context.Background(), sb, "", []string{runc, "--root", state, "run", "--bundle", bundle, "ID"})
	if err != nil {
		os.RemoveAll(bundle)
		return nil, err
	}
	cgroup := ""
	if l.group != nil {
		cgroup = l.group.name
	}
	id := containerID(cgroup, tmp)
	l.cmd.Args[len(l.cmd.Args)-1] = id
	spec := containerSpec(s, user, tmp, id, containerCgroup(l.group, id))
	spec.Process.Terminal = terminal
	config, err := json.MarshalIndent(spec, "", "\t")
	if err == nil {
		err = os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o600)
	}
	if err != nil {
		l.abort()
		os.RemoveAll(bundle)
		return nil, err
	}
	l.cmd.Dir = bundle
	l.setEnv([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
	return l, nil
}

// containerCgroup is the cgroupsPath of container id, whose process's
// cgroup is g: a cgroup of runc's own below g, with no limits of its own,
// so that g's hold for the container, and that runc can remove it as the
// container ends (g holds runc itself). On cgroup v1 the path is relative:
// runc makes it below its own cgroup in each hierarchy, g in those slipway
// uses (whose paths differ from one hierarchy to another), slipway's in
// the others. On cgroup v2 runc takes a relative path from its cgroup's
// parent, so it is g's, whole.
func containerCgroup(g *group, id string) string {
	if g != nil {
		if v2, ok := g.cg.(*v2Group); ok {
			return strings.TrimPrefix(v2.dir, cgroup2Root) + "/" + id
		}
	}
	return id
}

// containerSpec is the OCI runtime config of s's container: the app's
// identity without capabilities or new privileges, the image's root
// read-only, the host's network (or the namespace ImageRun.NetNS), a pid,
// ipc, uts and mount namespace of its own, and the cgroup cgroupsPath
// (containerCgroup).
func containerSpec(s Spec, user Sandbox, tmp, id, cgroupsPath string) *specs.Spec {
	im := s.Image
	cwd := im.WorkDir
	if cwd == "" {
		cwd = "/"
	}
	var nofile unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile) // slipway's, as its other processes inherit
	none := []string{}
	namespaces := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
	}
	if im.NetNS != "" {
		namespaces = append(namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: im.NetNS})
	}
	// runc takes no symlink in the root's path: an app's directory is
	// one, to its own disk.
	rootfs := im.Rootfs
	if real, err := filepath.EvalSymlinks(rootfs); err == nil {
		rootfs = real
	}
	return &specs.Spec{
		Version:  specs.Version,
		Hostname: im.Hostname,
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Process: &specs.Process{
			User: specs.User{UID: user.UID, GID: user.GID},
			Args: im.Args,
			Env:  imageEnv(im.Env, s.Env),
			Cwd:  cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: none, Effective: none, Inheritable: none, Permitted: none, Ambient: none,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile.Max, Soft: nofile.Cur}},
			NoNewPrivileges: true,
		},
		Mounts: containerMounts(im, tmp),
		Linux: &specs.Linux{
			Namespaces:  namespaces,
			CgroupsPath: cgroupsPath,
			// No device but runc's standard ones (null, zero, full, tty,
			// random, urandom, the pts); nothing else of resources: the
			// limits are the process's cgroup's.
			Resources:     &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
		},
	}
}

// maskedPaths and readonlyPaths are Docker's: what of /proc and /sys
// tells of the host or changes it.
var (
	maskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap"}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// containerMounts are Docker's standard mounts, the host's /etc/hosts and
// /etc/resolv.conf read-only (the host's network is the container's), the
// process's TMPDIR at /tmp and the image's Mounts, all without setuid or
// devices.
func containerMounts(im *ImageRun, tmp string) []specs.Mount {
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + ShmSize}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	for _, f := range []string{"/etc/hosts", "/etc/resolv.conf"} {
		if _, err := os.Stat(f); err == nil {
			m = append(m, specs.Mount{Destination: f, Type: "bind", Source: f, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
		}
	}
	rw := []string{"rbind", "rw", "nosuid", "nodev"}
	m = append(m, specs.Mount{Destination: "/tmp", Type: "bind", Source: tmp, Options: rw})
	for _, w := range im.Mounts {
		m = append(m, specs.Mount{Destination: w.Destination, Type: "bind", Source: w.Source, Options: rw})
	}
	return m
}

// imageEnv lays env over the image's, PATH aside, with TMPDIR the
// container's /tmp.
func imageEnv(image, env []string) []string {
	var out []string
	at := map[string]int{}
	set := func(kv string, over bool) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := at[k]; ok {
			if over {
				out[i] = kv
			}
			return
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	for _, kv := range image {
		set(kv, true)
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set(kv, k != "PATH")
	}
	set("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", false)
	set("TMPDIR=/tmp", true)
	return out
}

// signalImage makes sig end the container's process as it would end a
// process that is not a pid namespace's init: the kernel does not deliver
// to an init a signal it has no handler for, so when the process neither
// catches nor ignores sig, and sig ends a process by default, it gets
// SIGKILL. runc passes sig on to it too.
func (p *Process) signalImage(sig syscall.Signal) {
	if p.spec.Image == nil || sig == syscall.SIGKILL {
		return
	}
	for _, c := range childLister()(p.pid) {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/status")
		if err != nil || !containerInit(string(status)) {
			continue
		}
		if !sigMask(string(status), "SigCgt:", sig) && !sigMask(string(status), "SigIgn:", sig) && endsByDefault(sig) {
			p.killedInit.Store(true)
			syscall.Kill(c, syscall.SIGKILL)
		}
	}
}

// containerInit reports whether /proc/PID/status describes pid 1 of a pid
// namespace below the caller's.
func containerInit(status string) bool {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			return len(f) == 2 && f[1] == "1"
		}
	}
	return false
}

// sigMask reports whether the signal mask field (SigCgt:, SigIgn:) of a
// /proc/PID/status holds sig.
func sigMask(status, field string, sig syscall.Signal) bool {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(rest), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// endsByDefault reports whether sig's default action ends a process.
func endsByDefault(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGCHLD, syscall.SIGCONT, syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN,
		syscall.SIGTTOU, syscall.SIGURG, syscall.SIGWINCH:
		return false
	}
	return true
}

// endImage removes what the container left when runc did not (it was
// killed): every process in the cgroup is ended first, then `runc delete`
// takes the container's cgroups and state away; and the bundle. It runs
// before the process's cgroup is removed, which the container's would keep.
func (p *Process) endImage() {
	if p.spec.Image == nil {
		return
	}
	defer os.RemoveAll(bundleDir(p.tmpDir))
	im := p.spec.Image
	id := containerID(p.cgroup, p.tmpDir)
	if _, err := os.Stat(filepath.Join(im.stateDir(), id)); err != nil {
		return // runc removed it as the container ended
	}
	if p.group != nil {
		p.group.cg.kill()
	}
	if err := deleteContainer(im, id); err != nil {
		fmt.Fprintf(os.Stderr, "slipway: %s: %v\n", p.id, err)
	}
}

// deleteContainer runs `runc delete --force` on container id.
func deleteContainer(im *ImageRun, id string) error {
	runc, err := im.runtimePath()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, runc, "--root", im.stateDir(), "delete", "--force", id).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc delete %s: %v: %s", id, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// SweepContainers deletes the containers in runc's state dir im.StateDir
// whose names start with prefix but those keep says to keep (by their
// cgroup's name, as KillLeftovers): what runc left of containers whose
// runc was killed (with a slipway that died, say), ended if still
// running. It runs before KillLeftovers, whose cgroups hold theirs. It
// returns how many it deleted.
func SweepContainers(im ImageRun, prefix string, keep func(name string) bool) (int, error) {
	entries, err := os.ReadDir(im.stateDir())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) || keep(e.Name()) {
			continue
		}
		if err := deleteContainer(&im, e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// imageOOM reports whether the kernel killed an image's container for
// memory, on cgroup v1: the kill is counted in the container's own cgroup
// (runc's, below the process's), which runc removes as the container ends,
// so it is told by runc's status, 128+SIGKILL when Stop sent none, and the
// process's cgroup having hit its limit. On cgroup v2 the process's
// cgroup counts its children's kills (oomKills).
func (p *Process) imageOOM() bool {
	if p.spec.Image == nil || p.group == nil || p.Alive() || p.killedInit.Load() {
		return false
	}
	v1, ok := p.group.cg.(*v1Group)
	var exit *exec.ExitError
	if !ok || !errors.As(p.err, &exit) || exit.ExitCode() != 128+int(syscall.SIGKILL) {
		return false
	}
	st, err := v1.cg.Stat(cgroup1.IgnoreNotExist)
	return err == nil && st.Memory != nil && st.Memory.Usage != nil && st.Memory.Usage.Failcnt > 0
}
