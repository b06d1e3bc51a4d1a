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
//
// While another package's tests run runc containers with terminals at
// the same time (internal/kubetest's nodes, in go test ./...), busybox's
// stty in the container now and then finds its terminal's tcgetattr
// failing with ENOENT, though test -t 0 just passed and /dev/pts/0 is
// there: not understood yet. Such a run is tried again, at most twice,
// and says so; a terminal that is missing or of the wrong size still
// fails.
func TestImage_StdioTerminal(t *testing.T) {
	for attempt := 1; ; attempt++ {
		out := stdioTerminalRun(t)
		if strings.Contains(out, "stty: ") && attempt < 3 {
			t.Logf("busybox stty failed in the container (attempt %d), trying again: %q", attempt, out)
			continue
		}
		if !strings.Contains(out, "tty 24 80") || !strings.Contains(out, "got hello") || !strings.Contains(out, "now 40 120") {
			t.Errorf("the container's terminal: %q, want tty 24 80, got hello, now 40 120", out)
		}
		return
	}
}

// stdioTerminalRun runs TestImage_StdioTerminal's container once and
// returns what it wrote to its terminal; its exit status must be 3.
func stdioTerminalRun(t *testing.T) string {
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
	testutil.WaitFor(t, "the container to say whether it has a terminal", func() bool { return strings.Contains(out.String(), "tty ") })
	io.WriteString(master, "hello\n")
	testutil.WaitFor(t, "the container to read a line", func() bool { return strings.Contains(out.String(), "got hello") })
	pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 120})
	<-p.Exited()
	slave.Close() // the last of the terminal's far end: the read ends
	<-out.done
	if code, _ := ExitStatus(p.Err()); code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	return out.String()
}

// Interactive gives an image's command a terminal of its own when its
// caller has one, of the caller's size.
func TestImage_InteractiveHasATerminal(t *testing.T) {
	it := imageSpec(t, "/bin/sh")
	for attempt := 1; ; attempt++ {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code, err := Interactive(ctx, it.Spec, []string{"/bin/sh", "-c", `test -t 0 && test -t 1 && echo "tty $(/bin/busybox stty size) $TERM"`},
			Terminal{Stdin: strings.NewReader(""), Stdout: &out, Pty: true, Term: "vt100", Size: WindowSize{Cols: 100, Rows: 30}})
		cancel()
		if strings.Contains(out.String(), "stty: ") && attempt < 3 { // see TestImage_StdioTerminal
			t.Logf("busybox stty failed in the container (attempt %d), trying again: %q", attempt, out.String())
			continue
		}
		if code != 0 || err != nil || !strings.Contains(out.String(), "tty 30 100 vt100") {
			t.Errorf("Interactive: %d, %v, %q", code, err, out.String())
		}
		return
	}
}
