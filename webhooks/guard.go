package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// errRefused is the refusal of an address no webhook may reach.
var errRefused = errors.New("webhooks may not reach link-local, multicast or cloud metadata addresses (169.254.169.254 and the like)")

// Webhooks may go to internal addresses: a hook to a service beside
// slipway is legitimate, and only those who manage the app add its
// hooks. The exceptions are where no receiver lives and a cloud's
// metadata service does, which would take a POST from slipway for one of
// its own: link-local addresses (169.254.169.254 on most clouds, fe80::/10),
// multicast and unspecified ones, and these metadata addresses outside
// the link-local ranges. Each is one address, not its range: 100.64.0.0/10
// holds VPNs' addresses (Tailscale's), fd00::/8 private networks'.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),      // AWS's instance metadata over IPv6
	netip.MustParseAddr("100.100.100.200"),    // Alibaba Cloud's
	netip.MustParseAddr("192.0.0.192"),        // Oracle Cloud's former address
	netip.MustParseAddr("168.63.129.16"),      // Azure's host endpoint (WireServer)
	netip.MustParseAddr("fd20:ce::254"),       // Google Cloud's metadata over IPv6
	netip.MustParseAddr("fd00:c1::a9fe:a9fe"), // Oracle Cloud's over IPv6
}

// embedding are the IPv6 prefixes whose last 32 bits are an IPv4 address
// the packets may end up at: NAT64's well-known prefix (64:ff9b::a9fe:a9fe
// is 169.254.169.254 on a network that translates) and the deprecated
// IPv4-compatible addresses (::a9fe:a9fe). IPv4-mapped ones are Unmapped.
var embedding = []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("::/96")}

// refused reports whether no webhook may reach ip.
func refused(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() && slices.ContainsFunc(embedding, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		b := ip.As16()
		if v4 := netip.AddrFrom4([4]byte(b[12:])); v4.IsLinkLocalUnicast() || slices.Contains(metadataAddrs, v4) {
			return true
		}
	}
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || slices.Contains(metadataAddrs, ip)
}

// guard checks the address dialed, after DNS, so that no name can lead
// to a refused address either.
func guard(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if refused(ip) {
		return errRefused
	}
	return nil
}

// guardedDialer is the dialer of the Notifier's own client.
func guardedDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guard}
}

// lookupFunc resolves a host name, as net.Resolver.LookupNetIP does.
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// newTransport returns the Notifier's own transport: http.DefaultTransport's
// settings, with proxy choosing the proxy (http.ProxyFromEnvironment in
// New), its dials guarded, and the target of a request that goes through a
// proxy checked first (proxyGuard), names resolved with lookup.
func newTransport(proxy func(*http.Request) (*url.URL, error), lookup lookupFunc) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = proxyGuard(proxy, lookup)
	t.DialContext = guardedDialer().DialContext
	t.MaxIdleConnsPerHost = 2
	t.MaxResponseHeaderBytes = 64 << 10 // a receiver's answer is read for its status
	return t
}

// proxyGuard wraps proxy so that a request that goes through a proxy has
// its target checked before the proxy hears of it: guard then sees the
// proxy's address only, and the proxy would reach a metadata service on
// slipway's behalf.
func proxyGuard(proxy func(*http.Request) (*url.URL, error), lookup lookupFunc) func(*http.Request) (*url.URL, error) {
	if proxy == nil {
		return nil
	}
	return func(req *http.Request) (*url.URL, error) {
		u, err := proxy(req)
		if err != nil || u == nil {
			return u, err
		}
		if err := checkHost(req.Context(), req.URL.Hostname(), lookup); err != nil {
			return nil, err
		}
		return u, nil
	}
}

// checkHost checks host, a URL's, as a proxy would read it. An IP address
// is checked as it is. A number in another form than a.b.c.d, which the C
// library's resolver (and so many a proxy) reads as an IPv4 address
// (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518), is
// refused: no receiver needs one, and readers differ on what it means. A
// name is resolved here, and refused when any of its addresses is, or when
// it does not resolve: the proxy might resolve it where slipway cannot
// look. The proxy resolves the name again itself, so a DNS server that
// answers slipway and the proxy differently (DNS rebinding) is beyond
// this check: docs/security.md says so.
func checkHost(ctx context.Context, host string, lookup lookupFunc) error {
	host = strings.TrimSuffix(host, ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if refused(ip) {
			return errRefused
		}
		return nil
	}
	if numeric(host) {
		return fmt.Errorf("%s is an IPv4 address written as a number: write it as a.b.c.d", host)
	}
	ips, err := lookup(ctx, "ip", host)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) {
			err = errors.New(de.Err)
		}
		return fmt.Errorf("behind a proxy, slipway resolves a webhook's host itself to check it, and %s did not resolve: %w", host, err)
	}
	for _, ip := range ips {
		if refused(ip) {
			return fmt.Errorf("%s resolves to %s: %w", host, ip.Unmap().WithZone(""), errRefused)
		}
	}
	return nil
}

// numeric reports whether host reads as an IPv4 address to inet_aton(3):
// one to four parts separated by dots, each decimal, octal (a leading 0)
// or hexadecimal (0x).
func numeric(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		digits := "0123456789"
		if len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') {
			p, digits = p[2:], "0123456789abcdefABCDEF"
		} else if p == "" {
			return false
		}
		if strings.Trim(p, digits) != "" {
			return false
		}
	}
	return true
}
