package h1

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A connection idle for more than handOverAfter is parked: no goroutine
// waits for it; its socket is in an epoll set of the server's own, and one
// goroutine, blocked in epoll_wait, starts a goroutine for a parked
// connection once its next request (or its end) arrives. An idle
// connection then costs its socket and a few hundred bytes of heap (over
// TLS also its tls.Conn's state: its keys and buffers, some 5 KB), as an
// idle connection costs nginx, instead of a goroutine and its stack.
//
// Go's own poller keeps the socket too; the kernel tells both. The woken
// connection's goroutine reads it through Go as usual.

// parker is the server's epoll set of parked connections.
type parker struct {
	once   sync.Once
	stops  sync.Once // stop writes to wakefd once: after the loop closed it, its number may be another file's
	epfd   int
	wakefd int // an eventfd in the set: written to end the loop
	err    error
	done   chan struct{} // closed when the loop has ended
	mu     sync.Mutex
	conns  map[int32]*conn // by fd
}

// parkedState is the part of conn the parker uses.
type parkedState struct {
	parkMu    sync.Mutex
	parked    bool
	parkGen   uint64 // counts parkings, so a late timer of an earlier one does nothing
	parkFD    int32
	parkTimer *time.Timer
}

// rawFD returns the socket of c, unwrapping the connections that wrap it
// (NetConn, as tls.Conn has).
func rawFD(c net.Conn) (int, bool) {
	for {
		if sc, ok := c.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return 0, false
			}
			fd := -1
			rc.Control(func(f uintptr) { fd = int(f) })
			return fd, fd >= 0
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return 0, false
		}
		c = u.NetConn()
	}
}

// errStopped is init's answer once stop has run.
var errStopped = errors.New("stopped")

func (p *parker) init(s *Server) error {
	p.once.Do(func() {
		if p.epfd, p.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); p.err != nil {
			return
		}
		if p.wakefd, p.err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); p.err != nil {
			unix.Close(p.epfd)
			return
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
		if p.err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, p.wakefd, &ev); p.err != nil {
			unix.Close(p.wakefd)
			unix.Close(p.epfd)
			return
		}
		p.mu.Lock() // unparkAll reads it without going through once
		p.conns = map[int32]*conn{}
		p.mu.Unlock()
		p.done = make(chan struct{})
		go p.loop(s)
	})
	return p.err
}

// stop ends the loop, if it runs, and waits for it; no parking starts
// after it.
func (p *parker) stop() {
	p.stops.Do(func() {
		p.once.Do(func() { p.err = errStopped })
		if p.err != nil {
			return
		}
		var one [8]byte
		one[0] = 1
		unix.Write(p.wakefd, one[:])
		<-p.done
	})
}

// park parks c until its next request arrives or until deadline (then it
// is closed); it reports false when c cannot be parked, and the caller
// waits for it in a goroutine.
func (s *Server) park(c *conn, deadline time.Time) bool {
	p := &s.parker
	if c.tls != nil && !c.drained {
		// A next request may wait in the tls.Conn, decrypted or as whole
		// records read with the last one, where epoll cannot see it: the
		// caller waits with a read that shows it does not (waitForByte).
		return false
	}
	fd, ok := s.parkable(c)
	if !ok {
		return false
	}
	c.parkMu.Lock()
	defer c.parkMu.Unlock()
	c.parkGen++
	c.parkFD, c.parked = int32(fd), true
	p.mu.Lock()
	p.conns[c.parkFD] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: c.parkFD}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, c.parkFD)
		p.mu.Unlock()
		c.parked = false
		return false
	}
	if !deadline.IsZero() {
		gen := c.parkGen
		c.parkTimer = time.AfterFunc(time.Until(deadline), func() { s.unpark(c, gen, false) })
	}
	return true
}

// canPark reports whether c could be parked once idle.
func (s *Server) canPark(c *conn) bool {
	_, ok := s.parkable(c)
	return ok
}

// parkable returns c's socket when the server can park it.
func (s *Server) parkable(c *conn) (int, bool) {
	if s.shutdown.Load() || s.parker.init(s) != nil {
		return 0, false
	}
	return rawFD(c.rwc)
}

// unpark ends c's parking gen (0: whichever it is in): woken, it serves
// its next request in a new goroutine; otherwise (timed out, Shutdown)
// it is closed.
func (s *Server) unpark(c *conn, gen uint64, woken bool) {
	c.parkMu.Lock()
	if !c.parked || gen != 0 && gen != c.parkGen {
		c.parkMu.Unlock()
		return
	}
	c.parked = false
	p := &s.parker
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(c.parkFD), nil) // before the fd is closed and its number reused
	p.mu.Lock()
	delete(p.conns, c.parkFD)
	p.mu.Unlock()
	if c.parkTimer != nil {
		c.parkTimer.Stop()
		c.parkTimer = nil
	}
	c.parkMu.Unlock()
	if woken && !s.shutdown.Load() {
		go c.next(true)
		return
	}
	c.idle.Store(false)
	go c.end()
}

// loop waits for parked connections to become readable, until stop.
func (p *parker) loop(s *Server) {
	defer close(p.done)
	defer unix.Close(p.epfd)
	defer unix.Close(p.wakefd)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == -1 {
				return // stop
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				s.unpark(c, 0, true)
			}
		}
	}
}

// unparkAll closes every parked connection (Shutdown, Close).
func (s *Server) unparkAll() {
	p := &s.parker
	p.mu.Lock()
	cs := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		s.unpark(c, 0, false)
	}
}
