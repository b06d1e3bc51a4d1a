package kube

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AttachOptions say which streams of a running container an attach
// joins, as `kubectl attach` has them.
type AttachOptions struct {
	Container      string
	Stdin          bool
	Stdout, Stderr bool
	TTY            bool // the container has a terminal: one output stream, and resizes
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Width, Height uint16
}

// AttachStreams are the caller's ends of an attach: nil for a stream
// that AttachOptions leaves out.
type AttachStreams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Size           TerminalSize        // the terminal's size, sent before any input, with TTY
	Resize         <-chan TerminalSize // the terminal's new sizes, with TTY
}

// The channels of Kubernetes' streaming protocol: each WebSocket message
// starts with the byte of its stream.
const (
	chanStdin  = 0
	chanStdout = 1
	chanStderr = 2
	chanError  = 3   // the API server's Status when the attach ends
	chanResize = 4   // a TerminalSize, as JSON
	chanClose  = 255 // v5: the next byte's stream is closed (stdin's EOF)
)

// The subprotocols slipway speaks, the newest first: v5 can say that
// stdin ended, which a StdinOnce container's stdin then does too.
const (
	protoV5 = "v5.channel.k8s.io"
	protoV4 = "v4.channel.k8s.io"
)

// ErrExitCode is the error of an attach whose container ended with a
// status other than 0, as the API server tells it.
type ErrExitCode int

func (e ErrExitCode) Error() string {
	return "the command ended with exit status " + strconv.Itoa(int(e))
}

// Attach joins pod name's running container through the API server
// (GET .../pods/NAME/attach, upgraded to a WebSocket of Kubernetes'
// streaming protocol, as kubectl attach does) and copies the streams until
// the container's side ends or ctx is done. It returns nil when the
// container ended with status 0 or the stream ended without one,
// ErrExitCode when it ended with another, and the API server's error
// otherwise. Output the container wrote before the attach is not in the
// stream (it is in the pod's log).
func (p Pods) Attach(ctx context.Context, name string, opts AttachOptions, streams AttachStreams) error {
	q := url.Values{}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	for k, on := range map[string]bool{"stdin": opts.Stdin, "stdout": opts.Stdout, "stderr": opts.Stderr && !opts.TTY, "tty": opts.TTY} {
		if on {
			q.Set(k, "true")
		}
	}
	path := p.path + "/" + url.PathEscape(name) + "/attach"
	req, err := p.c.request(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	rand.Read(key)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	req.Header.Set("Sec-WebSocket-Protocol", protoV5+", "+protoV4)
	resp, err := p.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the API server %s: %w", p.c.server, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return statusError(resp.StatusCode, http.MethodGet, p.gr, name, b)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return errors.New("attach: the API server's upgraded connection cannot be written")
	}
	defer conn.Close()
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(req.Header.Get("Sec-WebSocket-Key")) {
		return errors.New("attach: the API server's WebSocket handshake is not one")
	}
	proto := resp.Header.Get("Sec-WebSocket-Protocol")
	if proto != protoV5 && proto != protoV4 {
		return fmt.Errorf("attach: the API server speaks %q, not %s or %s", proto, protoV5, protoV4)
	}
	ws := &wsConn{rw: conn, r: bufio.NewReader(conn)}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	done := make(chan struct{})
	defer close(done)
	if sz := streams.Size; opts.TTY && sz.Width > 0 && sz.Height > 0 {
		b, _ := json.Marshal(sz)
		if err := ws.write(chanResize, b); err != nil {
			return fmt.Errorf("attach: %w", err)
		}
	}
	if opts.Stdin && streams.Stdin != nil {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := streams.Stdin.Read(buf)
				if n > 0 {
					if ws.write(chanStdin, buf[:n]) != nil {
						return
					}
				}
				if err != nil {
					if proto == protoV5 {
						ws.write(chanClose, []byte{chanStdin})
						return
					}
					// v4 cannot say that stdin ended: the session ends
					// instead, which closes a StdinOnce container's stdin.
					ws.frame(opClose, []byte{0x03, 0xE8})
					conn.Close()
					return
				}
			}
		}()
	}
	if opts.TTY && streams.Resize != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-streams.Resize:
					if !ok {
						return
					}
					b, _ := json.Marshal(sz)
					if ws.write(chanResize, b) != nil {
						return
					}
				}
			}
		}()
	}
	var status []byte
	err = ws.readMessages(func(ch byte) io.Writer {
		switch ch {
		case chanStdout:
			return streams.Stdout
		case chanStderr:
			return streams.Stderr
		case chanError:
			return writerFunc(func(b []byte) (int, error) {
				if len(status)+len(b) <= maxErrorBody {
					status = append(status, b...)
				}
				return len(b), nil
			})
		}
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(status) > 0 {
		return attachStatus(status)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}

// attachStatus is the error the API server's Status at the end of an
// attach says: nil for Success, ErrExitCode for a status other than 0.
func attachStatus(b []byte) error {
	var st metav1.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("attach: the API server's last word is not a Status: %w", err)
	}
	if st.Status == metav1.StatusSuccess {
		return nil
	}
	if st.Reason == "NonZeroExitCode" && st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == "ExitCode" {
				if n, err := strconv.Atoi(c.Message); err == nil {
					return ErrExitCode(n)
				}
			}
		}
	}
	return &apierrors.StatusError{ErrStatus: st}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// acceptKey is the Sec-WebSocket-Accept that answers key (RFC 6455 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsConn is the client's side of a WebSocket (RFC 6455) carrying
// Kubernetes' channels: binary messages whose first byte names the
// stream. Writes are masked, as a client's must be, and serialized.
type wsConn struct {
	rw  io.ReadWriteCloser
	r   *bufio.Reader
	wmu sync.Mutex
}

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxControl bounds a control frame's payload, as RFC 6455 does.
const maxControl = 125

// write sends one binary message: the channel's byte, then data.
func (c *wsConn) write(ch byte, data []byte) error {
	return c.frame(opBinary, append([]byte{ch}, data...))
}

// frame sends one final frame of opcode op, masked.
func (c *wsConn) frame(op byte, payload []byte) error {
	hdr := make([]byte, 2, 14)
	hdr[0] = 0x80 | op
	switch n := len(payload); {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n <= 0xFFFF:
		hdr[1] = 0x80 | 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 0x80 | 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	frame := make([]byte, len(hdr)+len(payload))
	n := copy(frame, hdr)
	for i, b := range payload {
		frame[n+i] = b ^ mask[i%4]
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.rw.Write(frame) // one write: a frame is never split by another's
	return err
}

// readMessages reads messages until the server closes the WebSocket,
// copying each data message's payload past its channel byte to the
// writer out gives for that channel (nil: dropped). A message may come in
// several frames; it is streamed, never held whole. Pings are answered.
// It returns io.EOF after a close frame.
func (c *wsConn) readMessages(out func(ch byte) io.Writer) error {
	var w io.Writer // the stream of the message being read
	inMessage, haveChan := false, false
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0F
		masked, n := h[1]&0x80 != 0, uint64(h[1]&0x7F)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return err
			}
			n = binary.BigEndian.Uint64(b[:])
			if n > 1<<62 { // RFC 6455: the most significant bit must be 0
				return errors.New("a WebSocket frame of a length out of range")
			}
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(c.r, mask[:]); err != nil {
				return err
			}
		}
		payload := io.LimitReader(c.r, int64(n))
		if masked {
			payload = &unmask{r: payload, key: mask}
		}
		switch op {
		case opClose, opPing, opPong:
			if n > maxControl || !fin {
				return errors.New("a WebSocket control frame longer than 125 bytes, or fragmented")
			}
			b, err := io.ReadAll(payload)
			if err != nil {
				return err
			}
			switch op {
			case opClose:
				c.frame(opClose, nil)
				return io.EOF
			case opPing:
				if err := c.frame(opPong, b); err != nil {
					return err
				}
			}
			continue
		case opText, opBinary:
			if inMessage {
				return errors.New("a WebSocket message began inside another")
			}
			w, inMessage, haveChan = nil, true, false
		case opContinuation:
			if !inMessage {
				return errors.New("a WebSocket continuation outside a message")
			}
		default:
			return fmt.Errorf("a WebSocket frame of unknown opcode %#x", op)
		}
		if !haveChan && n > 0 { // the message's first byte names its stream
			var ch [1]byte
			if _, err := io.ReadFull(payload, ch[:]); err != nil {
				return err
			}
			w, haveChan = out(ch[0]), true
		}
		dst := w
		if dst == nil {
			dst = io.Discard
		}
		if _, err := io.Copy(dst, payload); err != nil {
			// The caller's stream is gone: the rest of the frame is
			// read and dropped, and the others go on.
			if _, err := io.Copy(io.Discard, payload); err != nil {
				return err
			}
			w = nil
		}
		if fin {
			inMessage = false
		}
	}
}

// unmask undoes a frame's masking as it is read.
type unmask struct {
	r   io.Reader
	key [4]byte
	off int
}

func (u *unmask) Read(b []byte) (int, error) {
	n, err := u.r.Read(b)
	for i := range b[:n] {
		b[i] ^= u.key[(u.off+i)%4]
	}
	u.off += n
	return n, err
}
