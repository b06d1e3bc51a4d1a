package kube

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serverFrame is a frame as a server sends it: unmasked.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b := []byte{op, 0}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xFFFF:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// readClientFrame reads one frame a client sent, which must be masked,
// and returns its opcode and unmasked payload.
func readClientFrame(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[1]&0x80 == 0 {
		t.Fatal("a client's frame is not masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	var mask [4]byte
	io.ReadFull(r, mask[:])
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	for i := range p {
		p[i] ^= mask[i%4]
	}
	return h[0] & 0x0F, p
}

func TestWsConn_StreamsChannelsAcrossFragmentsAndAnswersPings(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	ws := &wsConn{rw: client, r: bufio.NewReader(client)}
	var stdout, stderr, status bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- ws.readMessages(func(ch byte) io.Writer {
			switch ch {
			case chanStdout:
				return &stdout
			case chanStderr:
				return &stderr
			case chanError:
				return &status
			}
			return nil
		})
	}()
	sr := bufio.NewReader(server)
	big := bytes.Repeat([]byte("x"), 70000) // a 64-bit length
	for _, f := range [][]byte{
		serverFrame(true, opBinary, []byte{chanStdout}), // the empty first message of each stream
		serverFrame(true, opBinary, []byte{chanStderr}),
		serverFrame(true, opBinary, append([]byte{chanStdout}, "hello "...)),
		serverFrame(false, opBinary, nil), // a message whose channel byte comes in its next frame
		serverFrame(false, opContinuation, append([]byte{chanStderr}, "warn"...)),
		serverFrame(true, opContinuation, []byte("ing")),
		serverFrame(true, opBinary, append([]byte{9}, "an unknown stream"...)),
		serverFrame(false, opBinary, append([]byte{chanStdout}, "world"...)),
		serverFrame(true, opContinuation, big),
	} {
		if _, err := server.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	// A ping between messages is answered with its payload.
	go server.Write(serverFrame(true, opPing, []byte("are you there")))
	op, p := readClientFrame(t, sr)
	if op != opPong || string(p) != "are you there" {
		t.Fatalf("the answer to a ping: opcode %#x %q", op, p)
	}
	go func() {
		server.Write(serverFrame(true, opBinary, append([]byte{chanError}, `{"status":"Success"}`...)))
		server.Write(serverFrame(true, opClose, []byte{0x03, 0xE8}))
	}()
	if op, _ := readClientFrame(t, sr); op != opClose {
		t.Fatalf("the answer to a close: opcode %#x", op)
	}
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("readMessages after a close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("readMessages did not end after a close")
	}
	if want := "hello world" + string(big); stdout.String() != want {
		t.Fatalf("stdout: %d bytes, want %d", stdout.Len(), len(want))
	}
	if stderr.String() != "warning" || status.String() != `{"status":"Success"}` {
		t.Fatalf("stderr %q, status %q", stderr.String(), status.String())
	}
}

func TestWsConn_WritesMaskedMessagesOfAChannel(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	ws := &wsConn{rw: client, r: bufio.NewReader(client)}
	big := strings.Repeat("y", 300)
	go func() {
		ws.write(chanStdin, []byte("echo hi\n"))
		ws.write(chanResize, []byte(`{"Width":80,"Height":24}`))
		ws.write(chanStdin, []byte(big))
		ws.write(chanClose, []byte{chanStdin})
	}()
	sr := bufio.NewReader(server)
	for _, want := range []string{"\x00echo hi\n", "\x04" + `{"Width":80,"Height":24}`, "\x00" + big, "\xff\x00"} {
		op, p := readClientFrame(t, sr)
		if op != opBinary || string(p) != want {
			t.Fatalf("frame: opcode %#x %q, want %q", op, p, want)
		}
	}
}

func TestWsConn_RefusesWhatIsNoWebSocket(t *testing.T) {
	for name, frames := range map[string][][]byte{
		"a continuation first":  {serverFrame(true, opContinuation, []byte("x"))},
		"a message in another":  {serverFrame(false, opBinary, []byte{1, 'a'}), serverFrame(true, opBinary, []byte{1, 'b'})},
		"a long ping":           {serverFrame(true, opPing, bytes.Repeat([]byte("p"), 126))},
		"an unknown opcode":     {serverFrame(true, 0x3, nil)},
		"a fragmented ping":     {serverFrame(false, opPing, []byte("p"))},
		"a length out of range": {{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			var in bytes.Buffer
			for _, f := range frames {
				in.Write(f)
			}
			ws := &wsConn{rw: nopRWC{&in}, r: bufio.NewReader(&in)}
			err := ws.readMessages(func(byte) io.Writer { return io.Discard })
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("readMessages: %v, want an error", err)
			}
		})
	}
}

type nopRWC struct{ io.Reader }

func (nopRWC) Write(b []byte) (int, error) { return len(b), nil }
func (nopRWC) Close() error                { return nil }

func TestAttachStatus(t *testing.T) {
	if err := attachStatus([]byte(`{"status":"Success"}`)); err != nil {
		t.Fatalf("Success: %v", err)
	}
	err := attachStatus([]byte(`{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`))
	var code ErrExitCode
	if !errors.As(err, &code) || code != 3 {
		t.Fatalf("exit status 3: %v", err)
	}
	if err := attachStatus([]byte(`{"status":"Failure","message":"container not found"}`)); err == nil || !strings.Contains(err.Error(), "container not found") {
		t.Fatalf("a failure: %v", err)
	}
}
