package supervisor

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/slipway/slipway/internal/testutil"
)

// output collects what is read from r until it ends.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func collect(r io.Reader) *output {
	o := &output{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return o
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// An image's process started with Stdio reads its stdin from a pipe and
// writes its stdout and stderr to theirs, each apart; its log file
// stays empty.
func TestImage_StdioPipes(t *testing.T) {
	it := imageSpec(t, "/bin/sh", "-c", "echo out; echo err >&2; cat")
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	it.Stdio = &Stdio{Stdin: inR, Stdout: outW, Stderr: errW}
	p := startImageTest(t, it.Spec)
	inR.Close()
	outW.Close()
	errW.Close()
	stdout, stderr := collect(outR), collect(errR)
	io.WriteString(inW, "in\n")
	inW.Close()
	<-p.Exited()
	<-stdout.done
	<-stderr.done
	if got, want := stdout.String(), "out\nin\n"; got != want {
		t.Errorf("stdout: %q, want %q", got, want)
	}
	if got, want := stderr.String(), "err\n"; got != want {
		t.Errorf("stderr: %q, want %q", got, want)
	}
	if code, err := ExitStatus(p.Err()); code != 0 || err != nil {
		t.Errorf("exit status %d, %v", code, err)
	}
	if data, _ := os.ReadFile(it.LogPath); len(data) != 0 {
		t.Errorf("the log file has %q", data)
	}
}

// An image's process started with a terminal as Stdio gets a terminal of
// its own in its container, of the pty's size, which follows it.
func TestImage_StdioTerminal(t *testing.T) {
	it := imageSpec(t, "/bin/sh", "-c", `test -t 0 && echo "tty $(/bin/busybox stty size)"; read l; echo "got $l"
i=0; while test "$(/bin/busybox stty size)" != "40 120" && test $i -lt 100; do i=$((i+1)); sleep 0.1; done
echo "now $(/bin/busybox stty size)"; exit 3`)
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80})
	it.Stdio = &Stdio{Stdin: slave, Stdout: slave, Stderr: slave, Terminal: true}
	p := startImageTest(t, it.Spec)
	out := collect(master)
	testutil.WaitFor(t, "the container to say it has a terminal", func() bool { return strings.Contains(out.String(), "tty 24 80") })
	io.WriteString(master, "hello\n")
	testutil.WaitFor(t, "the container to read a line", func() bool { return strings.Contains(out.String(), "got hello") })
	pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 120})
	<-p.Exited()
	slave.Close() // the last of the terminal's far end: the read ends
	<-out.done
	if !strings.Contains(out.String(), "now 40 120") {
		t.Errorf("the container's terminal did not follow the resize: %q", out.String())
	}
	if code, _ := ExitStatus(p.Err()); code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
}

// Interactive gives an image's command a terminal of its own when its
// caller has one, of the caller's size.
func TestImage_InteractiveHasATerminal(t *testing.T) {
	it := imageSpec(t, "/bin/sh")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, err := Interactive(ctx, it.Spec, []string{"/bin/sh", "-c", `test -t 0 && test -t 1 && echo "tty $(/bin/busybox stty size) $TERM"`},
		Terminal{Stdin: strings.NewReader(""), Stdout: &out, Pty: true, Term: "vt100", Size: WindowSize{Cols: 100, Rows: 30}})
	if code != 0 || err != nil || !strings.Contains(out.String(), "tty 30 100 vt100") {
		t.Errorf("Interactive: %d, %v, %q", code, err, out.String())
	}
}
