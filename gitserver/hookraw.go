package gitserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/slipway/slipway/internal/procfs"
	"github.com/slipway/slipway/internal/termsafe"
)

// The raw hook socket answers the pre-receive hook's fast path
// (hookfast.c), which runs before the Go runtime starts and so cannot
// speak HTTP at a reasonable price: it sends the push's id, git's
// quarantine environment and ref updates as lines, and gets the output
// back followed by a NUL and the verdict byte. The checks are the HTTP
// path's: the push must be known and the peer must be a child of the git
// receive-pack that runs it.

const envHookRawSocket = "SLIPWAY_HOOK_RAW_SOCKET"

// rawSocketPath is the raw socket beside the HTTP one.
func rawSocketPath(socket string) string {
	return strings.TrimSuffix(socket, ".sock") + ".raw"
}

// rawHooks serves the raw socket.
type rawHooks struct {
	ln    net.Listener
	conns sync.WaitGroup
	mu    sync.Mutex
	open  map[net.Conn]struct{}
	done  chan struct{}
}

func (h *hookServer) startRaw() error {
	path := rawSocketPath(h.socket)
	os.Remove(path) // left by a process that did not shut down
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("hook socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return err
	}
	r := &rawHooks{ln: ln, open: map[net.Conn]struct{}{}, done: make(chan struct{})}
	h.raw = r
	go func() {
		defer close(r.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.open[c] = struct{}{}
			r.conns.Add(1)
			r.mu.Unlock()
			go func() {
				defer r.conns.Done()
				h.serveRaw(c)
				r.mu.Lock()
				delete(r.open, c)
				r.mu.Unlock()
			}()
		}
	}()
	return nil
}

// shutdownRaw stops accepting and waits for the pushes in progress until
// ctx is done, then cuts them off.
func (h *hookServer) shutdownRaw(ctx context.Context) error {
	r := h.raw
	if r == nil {
		return nil
	}
	r.ln.Close()
	<-r.done
	idle := make(chan struct{})
	go func() { r.conns.Wait(); close(idle) }()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		r.mu.Lock()
		for c := range r.open {
			c.Close()
		}
		r.mu.Unlock()
		<-idle
	}
	os.Remove(rawSocketPath(h.socket))
	return err
}

// serveRaw answers one hook.
func (h *hookServer) serveRaw(c net.Conn) {
	defer c.Close()
	pid := peerPIDOf(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // the request is written at once
	br := bufio.NewReaderSize(c, 4096)
	req, err := readRawRequest(br)
	if err != nil {
		fmt.Fprintf(c, "slipway hook: the daemon refused the hook (%v)\n\x001", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	h.mu.Lock()
	push, ok := h.pushes[req.PushID]
	h.mu.Unlock()
	// Only the hook git started for this push speaks for it (see
	// preReceive).
	if !ok || push.gitPID == 0 || procfs.ParentPID(pid) != push.gitPID {
		io.WriteString(c, "slipway hook: the daemon refused the hook (unknown push)\n\x001")
		return
	}
	// The hook sends nothing more: a read that returns means it is gone,
	// and the deploy is cancelled as an HTTP request's would be.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		var b [1]byte
		br.Read(b[:])
		cancel()
	}()
	out := termsafe.NewWriter(c)
	err = h.answer(ctx, req, push, out)
	out.Flush()
	verdict := "\x000"
	if err != nil {
		verdict = "\x001"
	}
	io.WriteString(c, verdict)
}

// readRawRequest reads the fast hook's request.
func readRawRequest(br *bufio.Reader) (hookRequest, error) {
	var req hookRequest
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		if err != nil {
			return "", errors.New("the request was cut off")
		}
		return strings.TrimSuffix(s, "\n"), nil
	}
	first, err := line()
	if err != nil {
		return req, err
	}
	if first != "slipway-hook 1" {
		return req, errors.New("not a hook request")
	}
	for n := 0; ; n++ {
		if n > 10000 {
			return req, errors.New("too many lines")
		}
		l, err := line()
		if err != nil {
			return req, err
		}
		word, rest, _ := strings.Cut(l, " ")
		switch word {
		case "id":
			req.PushID = rest
		case "env":
			k, _, _ := strings.Cut(rest, "=")
			for _, q := range quarantineEnv {
				if k == q {
					req.Env = append(req.Env, rest)
				}
			}
		case "ref":
			if f := strings.Fields(rest); len(f) == 3 {
				req.Refs = append(req.Refs, RefUpdate{Old: f[0], New: f[1], Name: f[2]})
			}
		case "end":
			return req, nil
		default:
			return req, fmt.Errorf("unknown line %q", termsafe.Clean(word))
		}
	}
}
