package webhooks

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// errLinkLocal is the refusal of a link-local target.
var errLinkLocal = errors.New("webhooks may not reach link-local or unspecified addresses (a cloud's metadata service lives there)")

// Webhooks may go to internal addresses: a hook to a service beside
// slipway is legitimate, and only those who manage the app add its
// hooks. Link-local addresses are the exception: no receiver lives there,
// a cloud's metadata service does (169.254.169.254), and it would take a
// POST from slipway for one of its own. guard checks the address dialed,
// after DNS, so that no name can lead there either.
func guard(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
		return errLinkLocal
	}
	return nil
}

// guardedDialer is the dialer of the Notifier's own client.
func guardedDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guard}
}
