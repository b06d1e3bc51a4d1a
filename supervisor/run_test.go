package supervisor

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

func TestRun_StreamsOutputAndKillsLeftovers(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	err := Run(context.Background(), Command{Args: []string{"sh", "-c", `sleep 30 & echo "in $PWD"`}, Dir: t.TempDir(), Env: os.Environ()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > OutputGrace {
		t.Error("the background sleep held the command open: it was not killed")
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("in /")) {
		t.Errorf("output = %q", out.String())
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
