package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Missing ends a test that cannot run because the host lacks a program or
// package, with one line saying which and how to install it (format and
// args, such as "no nginx: apt-get install nginx"). A developer's machine
// may lack it, and the test is skipped; under CI (the CI environment
// variable set) .ci/run has installed everything, and the test fails.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// NeedTool returns the path of the program name: on PATH, or else the
// first of alsoAt that is there (Debian's /usr/sbin, which a user's PATH
// lacks). Without it the test ends with Missing: "no NAME: apt-get
// install PKG".
func NeedTool(t testing.TB, name, pkg string, alsoAt ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range alsoAt {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	Missing(t, "no %s: apt-get install %s", name, pkg)
	return ""
}

// NeedVenv returns the python3 a build finds on path, ending the test with
// Missing unless it can make a virtualenv: Debian's python3 has venv only
// with python3-venv installed. A sandboxed build (slipway serve's) looks
// on what supervisor.ReadablePath keeps of slipway's PATH, the system's
// entries, and not in a pyenv first on it; one without a sandbox (the
// builder's tests) on the whole PATH.
func NeedVenv(t testing.TB, path string) string {
	t.Helper()
	python := ""
	for _, dir := range filepath.SplitList(path) {
		if p := filepath.Join(dir, "python3"); dir != "" {
			if _, err := exec.LookPath(p); err == nil {
				python = p
				break
			}
		}
	}
	if python == "" {
		Missing(t, "no python3 on the system's PATH (%s), the one builds see: apt-get install python3 python3-venv", path)
		return ""
	}
	if out, err := Command(t, Timeout, python, "-c", "import ensurepip").CombinedOutput(); err != nil {
		Missing(t, "%s has no venv (import ensurepip: %v: %s): apt-get install python3-venv", python, err, lastLine(out))
	}
	return python
}

// lastLine is the last non-empty line of out, such as a Python traceback's
// error.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// FreePort returns a loopback TCP port that was free a moment ago, for a
// server a test starts that cannot be given port 0.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago: FreePort n times may return one port twice, as the kernel hands
// out a port just closed again.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close() // all held until each has its own
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}
