package supervisor

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/testutil"
)

func TestRun_StreamsOutputAndKillsLeftovers(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), Command{Args: []string{"sh", "-c", `sleep 300 & echo "in $PWD"; echo "sleep $!"`}, Dir: t.TempDir(), Env: os.Environ()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("in /")) {
		t.Errorf("output = %q", out.String())
	}
	_, last, _ := strings.Cut(out.String(), "\nsleep ")
	pid, err := strconv.Atoi(strings.TrimSpace(last))
	if err != nil {
		t.Fatalf("output = %q, want the sleep's pid last", out.String())
	}
	if testutil.ProcessAlive(t, pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the background sleep (pid %d) held the command open (up to OutputGrace, %v): it was not killed", pid, OutputGrace)
	}
}

func TestRun_CancelKillsTheGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := Run(ctx, Command{Args: []string{"sh", "-c", "sleep 30"}, Dir: t.TempDir(), Env: os.Environ()}, &bytes.Buffer{})
	if err == nil || ctx.Err() == nil {
		t.Errorf("err = %v, want the command killed at the deadline", err)
	}
}
