package drains

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/slipway/slipway"
)

// maxReceived is as much as a syslog receiver may send before the
// connection is given up: it has nothing to say.
const maxReceived = 64 << 10

// syslogSender writes to a syslog receiver over TCP, or TLS for
// syslog+tls://, one connection kept while it works.
type syslogSender struct {
	cfg  *Config
	addr string
	tls  *tls.Config // nil: plain TCP
	h    header

	conn     net.Conn
	gone     chan struct{} // closed when the receiver closed the connection
	stopConn func() bool   // ends the close of conn when the drain stops
	buf      []byte
}

func newSyslogSender(cfg *Config, u *url.URL, h header) *syslogSender {
	s := &syslogSender{cfg: cfg, addr: net.JoinHostPort(u.Hostname(), slipway.DrainPort(u)), h: h}
	if u.Scheme == "syslog+tls" {
		s.tls = &tls.Config{ServerName: u.Hostname(), RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return s
}

func (s *syslogSender) send(ctx context.Context, b *batch) error {
	if s.conn != nil {
		select {
		case <-s.gone: // closed by the receiver while idle: a write would vanish
			s.close()
		default:
		}
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	now := s.cfg.Now()
	for _, l := range b.lines {
		s.buf, _ = appendFrames(s.buf, s.h, l, now)
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := s.conn.Write(s.buf); err != nil {
		s.close()
		return fmt.Errorf("write to %s: %w", s.addr, err)
	}
	if cap(s.buf) > 4*batchBytes { // one huge batch need not be kept
		s.buf = nil
	}
	return nil
}

// dial connects, with the TLS handshake for syslog+tls, within
// DialTimeout.
func (s *syslogSender) dial(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = (&tls.Dialer{Config: s.tls}).DialContext(dctx, "tcp", s.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(dctx, "tcp", s.addr)
	}
	if err != nil {
		return err
	}
	s.conn, s.gone = conn, make(chan struct{})
	s.stopConn = context.AfterFunc(ctx, func() { conn.Close() }) // a write stuck on a slow receiver ends with the drain
	// A receiver sends nothing: a read ends when it closes the
	// connection, which a write would not notice before it was lost. One
	// that sends more than a little is dropped as well.
	go func(gone chan struct{}) {
		io.Copy(io.Discard, io.LimitReader(conn, maxReceived))
		close(gone)
	}(s.gone)
	return nil
}

func (s *syslogSender) close() {
	if s.conn != nil {
		s.stopConn()
		s.conn.Close()
		s.conn = nil
	}
}
