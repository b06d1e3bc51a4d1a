package kubetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The pods' network: each pod has a network namespace of its own with
// one address in PodCIDR on its eth0, the peer of a veth on the host
// whose address is HostGateway and which a host route to the pod's
// address goes through. The host (a router, a test) reaches every pod at
// its address, every pod may listen on the same port, and a pod reaches
// the host at HostGateway. Pods do not reach each other: that would need
// the host to forward, a setting of the whole machine left alone.
const (
	PodCIDR     = "10.244.0.0/16"
	HostGateway = "10.244.0.1"
)

// podNet is one pod's network namespace and address.
type podNet struct {
	name string // the namespace's, under /var/run/netns
	mark string // a file that names it, for sweepDeadNodes
	veth string // the host's end
	ip   string
}

// path is the namespace's, for runc.
func (pn *podNet) path() string { return "/var/run/netns/" + pn.name }

// newPodNet makes the network of the pod with the given UID, marked in
// the directory marks as made (before it is). An address
// is taken by adding its host route, which fails when another node of
// this machine (another test binary's) holds it: the next one is tried.
func newPodNet(ctx context.Context, uid, marks string) (*podNet, error) {
	pn := &podNet{name: netnsName(uid), veth: "kt" + podHash(uid)[:13]}
	pn.mark = filepath.Join(marks, pn.name)
	if err := os.MkdirAll(marks, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pn.mark, nil, 0o600); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"netns", "add", pn.name},
		{"link", "add", pn.veth, "type", "veth", "peer", "name", "eth0", "netns", pn.name},
		{"addr", "add", HostGateway + "/32", "dev", pn.veth},
		{"link", "set", pn.veth, "up"},
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			pn.remove()
			return nil, err
		}
	}
	start := rand.IntN(254 * 254)
	for i := 0; pn.ip == "" && i < 254*254; i++ {
		k := (start + i) % (254 * 254)
		addr := fmt.Sprintf("10.244.%d.%d", 1+k/254, 1+k%254)
		err := ip(ctx, "route", "add", addr+"/32", "dev", pn.veth, "src", HostGateway)
		switch {
		case err == nil:
			pn.ip = addr
		case !strings.Contains(err.Error(), "File exists"):
			pn.remove()
			return nil, err
		}
	}
	if pn.ip == "" {
		pn.remove()
		return nil, fmt.Errorf("no free pod address in %s", PodCIDR)
	}
	for _, s := range [][]string{
		{"addr", "add", pn.ip + "/32", "dev", "eth0"},
		{"link", "set", "lo", "up"},
		{"link", "set", "eth0", "up"},
		{"route", "add", HostGateway, "dev", "eth0"},
		{"route", "add", "default", "via", HostGateway, "dev", "eth0"},
	} {
		if err := ip(ctx, append([]string{"-n", pn.name}, s...)...); err != nil {
			pn.remove()
			return nil, err
		}
	}
	return pn, nil
}

// netnsName is the network namespace of the pod with the given UID.
func netnsName(uid string) string { return "kubetest-" + podHash(uid)[:16] }

func podHash(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:])
}

// remove deletes the namespace: its eth0, the veth's other end and the
// host route go with it.
func (pn *podNet) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ip(ctx, "link", "del", pn.veth)
	if ip(ctx, "netns", "del", pn.name) == nil {
		os.Remove(pn.mark)
	}
}

// ip runs the ip command.
func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
