package drains

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// message is one RFC 5424 message as a receiver took it apart.
type message struct {
	pri, version, ts, host, app, proc, msgid, sd string
	text                                         string
}

// parseMessage splits an RFC 5424 message into its fields; SD must be
// "-", as slipway sends it.
func parseMessage(t testing.TB, m string) message {
	t.Helper()
	f := strings.SplitN(m, " ", 8)
	if len(f) < 7 {
		t.Fatalf("not an RFC 5424 message: %q", m)
	}
	pri, version, ok := strings.Cut(f[0], ">")
	if !ok || !strings.HasPrefix(pri, "<") {
		t.Fatalf("no PRI in %q", m)
	}
	msg := message{pri: pri + ">", version: version, ts: f[1], host: f[2], app: f[3], proc: f[4], msgid: f[5], sd: f[6]}
	if len(f) == 8 {
		msg.text = f[7]
	}
	return msg
}

// errFraming is a stream that is not octet-counted frames.
var errFraming = errors.New("framing")

// readFrames reads RFC 6587 octet-counted frames ("LEN SP MSG") from r
// until it ends, giving each message to got. A stream that is not
// frames, or ends within one, is errFraming; other errors are r's.
func readFrames(r io.Reader, got func(string)) error {
	br := bufio.NewReader(r)
	for {
		head, err := br.ReadString(' ')
		if err != nil {
			if err == io.EOF && head != "" {
				return fmt.Errorf("%w: the stream ends within a frame's length %q", errFraming, head)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		n, err := strconv.Atoi(strings.TrimSuffix(head, " "))
		if err != nil || n < 1 || n > maxMessage {
			return fmt.Errorf("%w: bad frame length %q", errFraming, head)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return fmt.Errorf("%w: a frame of %d bytes cut short: %v", errFraming, n, err)
		}
		got(string(msg))
	}
}

// receiver is a syslog receiver on 127.0.0.1: TCP, or TLS when made with
// a certificate.
type receiver struct {
	t    testing.TB
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	errs []error
	eofs int // connections the sender closed
}

func newReceiver(t testing.TB, cert *tls.Certificate) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveReceiver(t, ln, cert)
}

// serveReceiver receives on ln until the test ends.
func serveReceiver(t testing.TB, ln net.Listener, cert *tls.Certificate) *receiver {
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	r := &receiver{t: t, ln: ln}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	var open sync.Map
	t.Cleanup(func() { open.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true }) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			open.Store(c, true)
			conns.Go(func() {
				defer c.Close()
				err := readFrames(c, func(m string) {
					r.mu.Lock()
					r.msgs = append(r.msgs, m)
					r.mu.Unlock()
				})
				r.mu.Lock()
				if errors.Is(err, errFraming) { // not a failed TLS handshake, say
					r.errs = append(r.errs, err)
				}
				r.eofs++
				r.mu.Unlock()
			})
		}
	}()
	return r
}

func (r *receiver) addr() string { return r.ln.Addr().String() }

// messages returns what arrived so far, failing the test on a framing
// error.
func (r *receiver) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		r.t.Errorf("receiver: %v", err)
	}
	r.errs = nil
	return append([]string(nil), r.msgs...)
}

// closed returns how many connections were closed by the sender.
func (r *receiver) closed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eofs
}

// testConfig is a Config with quick retries and batches, for tests.
func testConfig() Config {
	return Config{Hostname: "slipway-host", MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		BatchWait: 20 * time.Millisecond, DialTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		IDKey: testIDKey, Logger: slog.New(slog.DiscardHandler)}
}

// testIDKey keys the drains' ids in the tests.
var testIDKey = slipway.LogDrainIDKey([]byte("the tests' installation secret.."))

// startManager starts a Manager for cfg, shut down when the test ends.
func startManager(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m := New(cfg)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Shutdown(ctx)
	})
	return m
}

// logLine is a line as the app log writes it.
func logLine(proc, text string) []byte {
	return []byte("2026-12-07T22:30:01.123Z " + proc + ": " + text + "\n")
}
