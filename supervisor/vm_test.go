package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// vmDir holds what the cgroup v2 VM boots: Debian's kernel and
// busybox-static, unpacked by .ci/run (docs: "Tests"). SLIPWAY_VM_DIR
// names another.
func vmDir() string {
	if d := os.Getenv("SLIPWAY_VM_DIR"); d != "" {
		return d
	}
	return "/var/cache/slipway-vm"
}

// vmInit is the VM's /init: it mounts the unified cgroup v2 hierarchy
// alone, hands memory, pids and cpu down to system.slice/slipway.service
// as systemd does for a unit with Delegate=yes, runs the cgroup tests in
// that cgroup and powers off.
const vmInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /dev/shm
mount -t tmpfs shm /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/system.slice/slipway.service
echo "+memory +pids +cpu" > /sys/fs/cgroup/system.slice/cgroup.subtree_control
echo $$ > /sys/fs/cgroup/system.slice/slipway.service/cgroup.procs
cd /tmp
/supervisor.test -test.v -test.run '^TestCgroup_' -test.timeout 4m
echo "VMTEST-EXIT $?"
poweroff -f
`

// The cgroup tests, run on a host with only the unified cgroup v2
// hierarchy: Debian's kernel booted under qemu (KVM when the host has
// it, software emulation otherwise) with an initramfs of busybox and this
// package's test binary. Every cgroup test must pass there, none skipped:
// the memory limit kills and is reported, the pids limit stops a fork
// bomb, a stop ends a setsid child (cgroup.kill), a process is adopted by
// its cgroup's path after its supervisor was killed.
func TestCgroupV2_InAVM(t *testing.T) {
	qemu := testutil.NeedTool(t, "qemu-system-x86_64", "qemu-system-x86")
	kernels, _ := filepath.Glob(filepath.Join(vmDir(), "x", "boot", "vmlinuz-*"))
	busybox := filepath.Join(vmDir(), "x", "bin", "busybox")
	if _, err := os.Stat(busybox); len(kernels) == 0 || err != nil {
		testutil.Missing(t, "no kernel and busybox for the cgroup v2 VM in %s/x: .ci/run unpacks Debian's linux-image-amd64 and busybox-static there (apt-get download, dpkg-deb -x)", vmDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The test binary, static: the VM has no C library.
	bin := filepath.Join(dir, "supervisor.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test binary: %v\n%s", err, out)
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(initrd, map[string]string{"bin/busybox": busybox, "supervisor.test": bin}, vmInit); err != nil {
		t.Fatal(err)
	}

	args := []string{"-m", "1024", "-smp", "2", "-nographic", "-no-reboot", "-kernel", kernels[0], "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet cgroup_no_v1=all"}
	run := func(accel string, extra ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute) // each its own
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, qemu, append(args[:len(args):len(args)], extra...)...).CombinedOutput()
		t.Logf("the VM (%s) booted and ran the cgroup tests in %s", accel, time.Since(start).Round(time.Second))
		return string(out), err
	}
	var text string
	var err error
	kvm := false
	if f, ferr := os.OpenFile("/dev/kvm", os.O_RDWR, 0); ferr == nil {
		f.Close()
		kvm = true
		text, err = run("KVM", "-enable-kvm", "-cpu", "host")
	}
	// A nested KVM may refuse what qemu asks of it before the VM boots
	// ("kvm_buf_set_msrs: Assertion ... failed", seen on a Firecracker
	// VM): software emulation then, slower but the same kernel.
	if !kvm || err != nil && !strings.Contains(text, "VMTEST-EXIT") && strings.Contains(strings.ToLower(text), "kvm") {
		if kvm {
			t.Logf("KVM could not run the VM, so software emulation does: %v\n%s", err, tail(text, 5))
		}
		text, err = run("software emulation")
	}
	if err != nil || !strings.Contains(text, "VMTEST-EXIT 0") {
		t.Fatalf("the cgroup tests in the VM: %v\n%s", err, tail(text, 80))
	}
	if strings.Contains(text, "--- SKIP") {
		t.Errorf("a cgroup test was skipped in the VM:\n%s", tail(text, 80))
	}
	passed := regexp.MustCompile(`--- PASS: (TestCgroup_\w+)`).FindAllStringSubmatch(text, -1)
	for _, want := range []string{"TestCgroup_MemoryLimitKillsAndSaysSo", "TestCgroup_PidsLimitContainsAForkBomb", "TestCgroup_StopEndsWhatDetached", "TestCgroup_AdoptedByPathAfterTheSupervisorIsKilled"} {
		found := false
		for _, m := range passed {
			found = found || m[1] == want
		}
		if !found {
			t.Errorf("%s did not pass in the VM:\n%s", want, tail(text, 80))
		}
	}
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeInitramfs writes a newc cpio archive holding files (archive path
// to host path, all executable) and init as /init.
func writeInitramfs(path string, files map[string]string, init string) error {
	var buf bytes.Buffer
	ino := 1
	add := func(name string, mode int, data []byte) {
		fmt.Fprintf(&buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		buf.WriteString(name)
		buf.WriteByte(0)
		pad(&buf)
		buf.Write(data)
		pad(&buf)
	}
	dirs := map[string]bool{}
	for name := range files {
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		add(d, 0o040755, nil)
	}
	for name, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		add(name, 0o100755, data)
	}
	add("init", 0o100755, []byte(init))
	add("TRAILER!!!", 0, nil)
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// pad pads a cpio archive to a multiple of 4 bytes.
func pad(w *bytes.Buffer) {
	for w.Len()%4 != 0 {
		w.WriteByte(0)
	}
}
