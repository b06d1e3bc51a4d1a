package e2e

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

// appUID returns the uid app runs as on s: the owner of its HOME.
func (s *server) appUID(app string) int {
	s.t.Helper()
	fi, err := os.Stat(filepath.Join(s.dataDir, "apps", app, "home"))
	if err != nil {
		s.t.Fatalf("the HOME of %s: %v", app, err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// passwdLine returns the /etc/passwd entry of uid, "" when it has none.
func passwdLine(t *testing.T, uid int) string {
	t.Helper()
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Split(line, ":"); len(f) > 2 && f[2] == strconv.Itoa(uid) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// claimOf returns the uid range the host's registry gives dataDir.
func claimOf(t *testing.T, dataDir string) (base, count int) {
	t.Helper()
	data, err := os.ReadFile(os.Getenv("SLIPWAY_UID_REGISTRY"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) == 3 && f[2] == dataDir {
			base, _ = strconv.Atoi(f[0])
			count, _ = strconv.Atoi(f[1])
			return base, count
		}
	}
	t.Fatalf("no claim of %s in the registry:\n%s", dataDir, data)
	return 0, 0
}

// Two slipways with default flags on one host give their apps uids apart,
// skip a uid another user has, and never change or remove a user that is
// not theirs; a --uid-base that overlaps the other's range is refused.
func TestIdentities_TwoSlipwaysOnOneHostNeverShareAUID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("apps have users of their own only when slipway is root")
	}
	useradd := testutil.NeedTool(t, "useradd", "passwd")
	a, b := startServer(t), startServer(t)
	dir := a.newApp(staticApp("a"))
	a.mustGit(dir, "push", a.remote("first"), "main")
	first := a.appUID("first")

	// A user of the host's own takes the uid a's next app would get: the
	// next one no user has.
	next := first + 1
	for passwdLine(t, next) != "" {
		next++
	}
	foreign := "e2e-foreign-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command(useradd, "-M", "-N", "-u", strconv.Itoa(next), "-d", "/nonexistent/e2e", "-s", "/usr/sbin/nologin", foreign).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", foreign).Run() })
	foreignLine := passwdLine(t, next)

	a.mustGit(dir, "push", a.remote("second"), "main")
	second := a.appUID("second")
	if second == next || second == first {
		t.Errorf("a's second app runs as uid %d (the first has %d, %s has %d)", second, first, foreign, next)
	}
	dirB := b.newApp(staticApp("b"))
	b.mustGit(dirB, "push", b.remote("first"), "main")
	other := b.appUID("first")
	base, count := claimOf(t, a.dataDir)
	if other >= base && other < base+count || first < base || first >= base+count {
		t.Errorf("a's app runs as uid %d, b's as %d; a's range is %d+%d", first, other, base, count)
	}
	b.wantServes("first", "/", "hello from b")
	a.wantServes("first", "/", "hello from a")

	// b destroys its app: its own user goes, a's stay as they were.
	before := passwdLine(t, first)
	if out, err := b.ssh(b.key, "apps:destroy", "first", "--confirm", "first"); err != nil {
		t.Fatalf("apps:destroy: %v\n%s", err, out)
	}
	if got := passwdLine(t, first); got != before || got == "" {
		t.Errorf("a's user changed when b destroyed its app: %q, was %q", got, before)
	}
	if got := passwdLine(t, next); got != foreignLine {
		t.Errorf("the host's own user changed: %q, was %q", got, foreignLine)
	}
	if _, err := user.LookupId(strconv.Itoa(other)); err == nil {
		t.Errorf("b's destroyed app left its user %d", other)
	}

	// A third data dir asking for a's range by name is refused, saying whose it is.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, slipwayBin, "serve", "--data", newDataDir(t), "--uid-base", strconv.Itoa(base),
		"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--uid-base "+strconv.Itoa(base)+": the uids") || !strings.Contains(string(out), a.dataDir) {
		t.Errorf("serve --uid-base %d over a's range: %v\n%s", base, err, out)
	}
}
