package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Sandbox confines a process to what its app may touch. Every app process
// starts through it: a re-executed slipway (see Reexec) that, already
// running as the app's identity, restricts itself with Landlock and then
// executes the command, so the command never runs unconfined.
type Sandbox struct {
	// UID and GID, when not 0, are the identity the process runs as, with
	// no supplementary groups; changing it needs slipway to be root.
	UID, GID uint32
	// Read lists the trees the process may read and execute besides the
	// system's (SystemRead): the release directory.
	Read []string
	// Write lists the trees it may read and write: HOME, and for a build
	// the tree being built and the cache. TMPDIR is added by Start.
	Write []string
	// Ports are the TCP ports it may bind; binding port 0 (the kernel
	// picks a free ephemeral one) is always allowed.
	Ports []int
	// Launcher is the slipway executable that starts the process and
	// confines it; os.Executable when empty. With UID set it must be
	// executable by that user.
	Launcher string `json:"-"`
	// Cgroup, when set and the host has cgroups (CgroupsAvailable), names
	// the process's own cgroup below slipway's (a suffix makes each start's
	// unique), with Limits: it holds
	// every process the command starts, and stopping the process ends
	// them all.
	Cgroup string `json:"-"`
	Limits Limits `json:"-"`
	// Hold makes the launcher wait for a byte on fd 3 before it confines
	// itself: slipway sends it once the launcher is in its cgroup.
	Hold bool `json:"hold,omitempty"`
	// Shm, set by launch where the host allows it, gives the process a
	// /dev/shm of its own: the launcher starts in a user and mount
	// namespace of its own (its uid mapped to itself, nothing else), with
	// CAP_SYS_ADMIN there only, mounts a tmpfs of ShmSize on /dev/shm and
	// drops the capability before it confines itself. Without it /dev/shm
	// is out of the process's reach.
	Shm bool `json:"shm,omitempty"`
	// OwnMounts is for a program that makes a mount namespace of its own
	// and confines what it runs there: an OCI runtime (runc) or an image
	// build. A process confined on files may not mount, so Landlock
	// confines only its network (Ports) and signals; Read and Write are
	// not used, and the launcher makes no namespaces (the runtime, as
	// root, needs the host's).
	OwnMounts bool `json:"ownMounts,omitempty"`
}

// ShmSize is the size of a process's own /dev/shm, Docker's default; what
// is in it counts against the process's memory limit.
const ShmSize = "64m"

// sealedPrefix hides each variable of the command's environment from the
// launcher itself (sealEnv): the launcher is a dynamically linked Go
// program that runs before the sandbox is in place, so an app's
// LD_PRELOAD, LD_AUDIT, GLIBC_TUNABLES or GODEBUG must reach only the
// program it executes.
const sealedPrefix = "SLIPWAY_SANDBOXED_"

// sealEnv hides env from the launcher; unsealEnv gives it back.
func sealEnv(env []string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		out[i] = sealedPrefix + kv
	}
	return out
}

func unsealEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, sealedPrefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// SystemRead is what every app process may read and execute: the
// system's programs, libraries and configuration, /proc (Landlock keeps
// it from other domains' processes) and /sys.
var SystemRead = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys", "/run/systemd/resolve"}

// systemDevices are the device nodes every app process may use.
var systemDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// reexecArg is argv[1] of a slipway started to confine itself and run a
// command: slipway __slipway_sandbox SANDBOX-JSON -- PROGRAM ARGS...
const reexecArg = "__slipway_sandbox"

// Reexec must run first in main, and in the TestMain of tests whose
// processes are sandboxed: when this process was started as a sandbox
// launcher it confines itself and executes the command, and never
// returns. Otherwise it does nothing.
func Reexec() {
	if len(os.Args) < 2 || (os.Args[1] != reexecArg && os.Args[1] != launchArg) {
		return
	}
	var err error
	if os.Args[1] == launchArg { // where launcher.c left it to Go
		var sb *Sandbox
		var argv []string
		if sb, argv, err = decodeLaunch(os.Args[2:]); err == nil {
			err = sb.confineAndExec(argv)
		}
	} else {
		err = confineAndExec(os.Args[2:])
	}
	fmt.Fprintf(os.Stderr, "slipway sandbox: %v\n", err)
	os.Exit(126)
}

// LandlockABI returns the Landlock ABI version of the running kernel, 0
// when it has none.
func LandlockABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// launch returns the program and arguments that run argv inside sb, and
// the process attributes that set its identity.
func (sb *Sandbox) launch(argv []string) ([]string, *syscall.SysProcAttr, error) {
	exe := sb.Launcher
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, nil, fmt.Errorf("find slipway's executable for the sandbox: %w", err)
		}
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if sb.UID != 0 {
		attr.Credential = &syscall.Credential{Uid: sb.UID, Gid: sb.GID, Groups: []uint32{}}
	}
	if !sb.OwnMounts && PrivateShm() {
		uid, gid := sb.UID, sb.GID
		if uid == 0 {
			uid, gid = uint32(os.Geteuid()), uint32(os.Getegid())
		}
		ownNamespaces(attr, uid, gid)
		c := *sb
		c.Shm = true
		sb = &c
	}
	full := append([]string{exe, launchArg}, encodeLaunch(sb)...)
	return append(append(full, "--"), argv...), attr, nil
}

// ownNamespaces starts the process in a user namespace where only uid and
// gid exist, mapped to themselves, and a mount namespace of its own, with
// CAP_SYS_ADMIN in them (nowhere else) for the launcher to mount its
// /dev/shm. The identity change (Credential) happens inside; setgroups
// is allowed there only when slipway, root, makes the namespace, to clear
// the supplementary groups.
func ownNamespaces(attr *syscall.SysProcAttr, uid, gid uint32) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: int(uid), HostID: int(uid), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: int(gid), HostID: int(gid), Size: 1}}
	attr.GidMappingsEnableSetgroups = attr.Credential != nil
	attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
}

var (
	shmOnce sync.Once
	shmOK   bool
)

// PrivateShm reports whether processes can have a /dev/shm of their own
// here (else /dev/shm is out of their reach): whether a user and mount namespace can be made (a kernel or a
// policy may forbid them), tried once with /bin/true.
func PrivateShm() bool {
	shmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		if os.Geteuid() == 0 {
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
			ownNamespaces(cmd.SysProcAttr, 65534, 65534)
		} else {
			ownNamespaces(cmd.SysProcAttr, uint32(os.Geteuid()), uint32(os.Getegid()))
		}
		shmOK = cmd.Run() == nil
	})
	return shmOK
}

// mountShm, in the launcher, mounts its own /dev/shm and drops the
// capability that allowed it from the thread that will execute the
// command (the others end with the exec). It reports whether /dev/shm
// is now the process's own.
func mountShm() bool {
	err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size="+ShmSize+",mode=1777")
	if err != nil {
		fmt.Fprintf(os.Stderr, "slipway sandbox: no /dev/shm of its own (%v): /dev/shm is out of reach\n", err)
	}
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	var none [2]unix.CapUserData // version 3 takes two
	unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &none[0])
	return err == nil
}

// withTmp returns a copy of sb that may also write tmp.
func (sb *Sandbox) withTmp(tmp string) *Sandbox {
	c := *sb
	c.Write = append(slices.Clone(sb.Write), tmp)
	return &c
}

// confineAndExec is the launcher: args are SANDBOX-JSON -- PROGRAM ARGS.
func confineAndExec(args []string) error {
	if len(args) < 3 || args[1] != "--" {
		return fmt.Errorf("usage: slipway %s SANDBOX -- PROGRAM ARGS... (started by slipway, not by people)", reexecArg)
	}
	var sb Sandbox
	if err := json.Unmarshal([]byte(args[0]), &sb); err != nil {
		return fmt.Errorf("bad sandbox: %w", err)
	}
	return sb.confineAndExec(args[2:])
}

// confineAndExec is the Go launcher's body: confine this process as sb
// says and execute argv.
func (sb *Sandbox) confineAndExec(argv []string) error {
	if sb.Hold {
		hold := os.NewFile(3, "hold")
		b := make([]byte, 1)
		if n, _ := hold.Read(b); n != 1 {
			return fmt.Errorf("slipway did not let the process start")
		}
		hold.Close()
	}
	// Dropping the capability, the restriction and the exec must happen
	// on one thread; go-landlock applies the policy to every thread anyway.
	runtime.LockOSThread()
	if sb.Shm {
		sb.Shm = mountShm()
	}
	if err := sb.restrict(); err != nil {
		return err
	}
	env := unsealEnv(os.Environ())
	prog := argv[0]
	if !strings.ContainsRune(prog, '/') {
		path, err := lookPath(prog, env)
		if err != nil {
			return err
		}
		prog = path
	}
	return syscall.Exec(prog, argv, env)
}

// restrict applies sb to this process with Landlock, as far as the kernel
// supports it: files and directories, TCP bind, and signals and abstract
// unix sockets to processes outside the sandbox. It also sets
// no_new_privs, so no setuid program can lift it.
func (sb *Sandbox) restrict() error {
	if sb.OwnMounts {
		return sb.restrictNetwork()
	}
	cfg := landlock.Config{
		HandledAccessFS:  landlock.V9.HandledAccessFS,
		HandledAccessNet: llsys.AccessNetBindTCP,
		Scoped:           llsys.ScopeSignal | llsys.ScopeAbstractUnixSocket,
	}.BestEffort()
	rules := []landlock.Rule{
		landlock.RODirs(SystemRead...).IgnoreIfMissing(),
		landlock.RWFiles(systemDevices...).IgnoreIfMissing(),
		landlock.BindTCP(0),
	}
	if sb.Shm { // its own; else, shared with the host, out of reach
		rules = append(rules, landlock.RWDirs("/dev/shm"))
	}
	if len(sb.Read) > 0 {
		rules = append(rules, landlock.RODirs(sb.Read...).IgnoreIfMissing())
	}
	if len(sb.Write) > 0 {
		rules = append(rules, landlock.RWDirs(sb.Write...).WithRefer().IgnoreIfMissing())
	}
	for _, p := range sb.Ports {
		rules = append(rules, landlock.BindTCP(uint16(p)))
	}
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// restrictNetwork is restrict for a program that mounts (OwnMounts): TCP
// bind to its ports, signals and abstract unix sockets, no files.
func (sb *Sandbox) restrictNetwork() error {
	cfg := landlock.Config{
		HandledAccessNet: llsys.AccessNetBindTCP,
		Scoped:           llsys.ScopeSignal | llsys.ScopeAbstractUnixSocket,
	}.BestEffort()
	rules := []landlock.Rule{landlock.BindTCP(0)}
	for _, p := range sb.Ports {
		rules = append(rules, landlock.BindTCP(uint16(p)))
	}
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// lookPath finds prog in env's PATH as a shell would.
func lookPath(prog string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", prog)
}

// ReadablePath keeps the entries of a PATH that an app process may read:
// those under SystemRead. Entries in slipway's own home (a pyenv, ~/go/bin)
// would be unreachable for an app and could name tools it must not run.
func ReadablePath(path string) string {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		for _, sys := range SystemRead {
			if dir == sys || strings.HasPrefix(dir, sys+"/") {
				keep = append(keep, dir)
				break
			}
		}
	}
	return strings.Join(keep, ":")
}
