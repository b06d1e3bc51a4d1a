package supervisor

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestOwnsListener_TellsTheInstanceFromASquatter(t *testing.T) {
	port := freePort(t)
	// The shell's child listens: the listener is in the process's tree.
	p, err := Start(spec(t, fmt.Sprintf(`python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", %d)); s.listen(); print("up", flush=True); time.sleep(60)'`, port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	waitFor(t, "the instance to listen", func() bool { return strings.Contains(strings.Join(p.LogTail(1), ""), "up") })
	if ok, err := p.OwnsListener(port); !ok || err != nil {
		t.Errorf("OwnsListener of the instance's own port = %v, %v", ok, err)
	}
	// A listener of someone else's, here the test's own.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ok, _ := p.OwnsListener(other.Addr().(*net.TCPAddr).Port); ok {
		t.Error("OwnsListener claimed a port another process listens on")
	}
	if ok, _ := p.OwnsListener(freePort(t)); ok {
		t.Error("OwnsListener claimed a port nothing listens on")
	}
}

func TestProcStat_ParentAndStartTime(t *testing.T) {
	if got, want := ParentPID(os.Getpid()), os.Getppid(); got != want {
		t.Errorf("ParentPID = %d, want %d", got, want)
	}
	if StartTicks(os.Getpid()) == 0 {
		t.Error("StartTicks of this process is 0")
	}
	if ParentPID(1<<30) != -1 || StartTicks(1<<30) != 0 || KillRecorded(1<<30, 1) {
		t.Error("a pid that names no process was taken for one")
	}
}
