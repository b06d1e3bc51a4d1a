package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slipway/slipway/internal/testutil"
)

// netns makes a network namespace of the test's own, its loopback up, and
// removes it when the test ends; it returns its path.
func netns(t *testing.T) string {
	t.Helper()
	ip := testutil.NeedTool(t, "ip", "iproute2")
	b := make([]byte, 4)
	rand.Read(b)
	name := "slipway-test-" + hex.EncodeToString(b)
	run := func(args ...string) {
		t.Helper()
		if out, err := testutil.Command(t, 10*time.Second, ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() { testutil.Command(t, 10*time.Second, ip, "netns", "del", name).Run() })
	run("-n", name, "link", "set", "lo", "up")
	return "/var/run/netns/" + name
}

// A container given ImageRun.NetNS listens in that namespace: its port on
// the host's loopback stays closed, and the namespace's answers.
func TestImage_JoinsItsNetworkNamespace(t *testing.T) {
	it := imageSpec(t, webArgs...)
	path := netns(t)
	it.Image.NetNS = path
	p := startImageTest(t, it.Spec)
	url := "http://127.0.0.1:" + strconv.Itoa(it.port) + "/"
	inNS := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", path[strings.LastIndex(path, "/")+1:],
			testutil.NeedTool(t, "busybox", "busybox-static"), "wget", "-qO-", url).Output()
		return string(out)
	}
	waitFor(t, "the image's httpd to answer in its namespace", func() bool { return inNS() == "hello from the image\n" })
	if got := get(it.port); got != "" {
		t.Errorf("the host's 127.0.0.1:%d answers %q: the container is on the host's network", it.port, got)
	}
	p.Stop(10 * time.Second)
	checkClean(t, it.Spec, p, nil)
}

// Without NetNS the container has no network namespace of its own (the
// host's); with it, runc is told to join that one, not to make a new one.
func TestContainerSpec_NetNS(t *testing.T) {
	for _, path := range []string{"", "/var/run/netns/pod-1"} {
		s := Spec{Image: &ImageRun{Rootfs: t.TempDir(), Args: []string{"/bin/true"}, NetNS: path}}
		var got []specs.LinuxNamespace
		for _, ns := range containerSpec(s, Sandbox{}, t.TempDir(), "id", "id").Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace {
				got = append(got, ns)
			}
		}
		switch {
		case path == "" && len(got) != 0:
			t.Errorf("without NetNS: network namespaces %v, want the host's", got)
		case path != "" && (len(got) != 1 || got[0].Path != path):
			t.Errorf("NetNS %s: network namespaces %v, want that path joined", path, got)
		}
	}
}
