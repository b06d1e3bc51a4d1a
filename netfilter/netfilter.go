package netfilter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Door is the rule for one data dir.
type Door struct {
	// Chain is the rule's own chain: ChainFor(the data dir).
	Chain string
	// First and Last bound the apps' uids.
	First, Last int
	// Ports are slipway's own TCP ports to keep the apps off.
	Ports []int
}

// ChainFor returns the chain of the slipway of dataDir (an absolute path).
func ChainFor(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return "SLIPWAY-" + hex.EncodeToString(sum[:4])
}

// Shut puts the rule in place, replacing what the chain held (from a
// crash, the slipway that handed over, or an earlier version of the
// rule), and makes sure OUTPUT jumps to it. It fails when iptables is
// missing or refuses; ipv6 says why ip6tables did (a host without IPv6),
// in which case only IPv4 connections are kept off.
func (d Door) Shut(ctx context.Context) (ipv6, err error) {
	if len(d.Ports) == 0 {
		return nil, nil
	}
	ports := make([]string, len(d.Ports))
	for i, p := range d.Ports {
		ports[i] = strconv.Itoa(p)
	}
	rule := []string{"-p", "tcp", "-m", "owner", "--uid-owner", fmt.Sprintf("%d-%d", d.First, d.Last),
		"-m", "addrtype", "--dst-type", "LOCAL", "-m", "multiport", "--dports", strings.Join(ports, ","),
		"-m", "comment", "--comment", "slipway: apps may not reach slipway's ssh and admin listeners",
		"-j", "REJECT", "--reject-with", "tcp-reset"}
	if err := d.shut(ctx, "iptables", rule); err != nil {
		return nil, err
	}
	return d.shut(ctx, "ip6tables", rule), nil
}

// shut puts rule in the chain of tool.
func (d Door) shut(ctx context.Context, tool string, rule []string) error {
	run(ctx, tool, "-N", d.Chain) // fails when it exists
	// Replaced in place when there (a restart or an upgrade: no instant
	// without it), else added; anything after it goes.
	err := run(ctx, tool, append([]string{"-R", d.Chain, "1"}, rule...)...)
	if err != nil {
		err = run(ctx, tool, append([]string{"-A", d.Chain}, rule...)...)
	}
	for err == nil && run(ctx, tool, "-D", d.Chain, "2") == nil {
	}
	if err == nil && run(ctx, tool, "-C", "OUTPUT", "-j", d.Chain) != nil {
		err = run(ctx, tool, "-I", "OUTPUT", "1", "-j", d.Chain)
	}
	return err
}

// Open removes the rule and its chain (a clean stop). Nothing is left
// behind when it succeeds; removing what is not there is no error.
func (d Door) Open(ctx context.Context) error {
	var errs []error
	for _, tool := range []string{"iptables", "ip6tables"} {
		if run(ctx, tool, "-L", d.Chain, "-n") != nil {
			continue // no chain, or no tool
		}
		for run(ctx, tool, "-D", "OUTPUT", "-j", d.Chain) == nil {
		}
		if err := run(ctx, tool, "-F", d.Chain); err != nil {
			errs = append(errs, err)
		}
		if err := run(ctx, tool, "-X", d.Chain); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// run runs one iptables command, waiting at most 5 s for the xtables
// lock and 10 s in all.
func run(ctx context.Context, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, find(tool), append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s is not installed (Debian: apt install iptables)", tool)
		}
		return fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// find returns tool's path: on PATH, else in the system's sbin, which a
// service's PATH may lack.
func find(tool string) string {
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(dir + "/" + tool); err == nil {
			return p
		}
	}
	return tool
}
