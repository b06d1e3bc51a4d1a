package httpserver

import (
	"net"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// PeerUIDs wraps a unix socket's listener so that it hands on only the
// connections whose peer process runs as one of uids (SO_PEERCRED, as
// the kernel saw it at connect); any other is closed at once. The file's
// mode keeps others out already: this holds should the mode or the
// directory ever be loosened.
func PeerUIDs(ln net.Listener, uids ...int) net.Listener {
	return &peerListener{Listener: ln, uids: uids}
}

type peerListener struct {
	net.Listener
	uids []int
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerUID(c); ok && slices.Contains(l.uids, uid) {
			return c, nil
		}
		c.Close()
	}
}

// peerUID returns the uid of the process at the other end of a unix
// socket connection.
func peerUID(c net.Conn) (int, bool) {
	sc, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}
