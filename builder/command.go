package builder

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/slipway/slipway/supervisor"
)

// outputGrace bounds how long a finished step waits for output held open
// by a process that left its group.
const outputGrace = supervisor.OutputGrace

// command is one build step run as an external program.
type command struct {
	step   string   // short name for errors: "go build"
	header string   // text of the "----->" header; none when empty
	args   []string // program and arguments
	dir    string   // working directory
	env    []string // whole environment
	stdout *os.File // where stdout goes; nil means the build output
	// sandbox confines the step; nil runs it as slipway (git archive).
	sandbox *supervisor.Sandbox
	// tmpDir names the step's TMPDIR (made fresh, removed after it).
	tmpDir string
	// hint ends the step's failure: what to do when the cause is outside
	// the app (an index this host cannot reach).
	hint string
	// progress, when set, turns the step's output into progress lines
	// (go build -v's package names, shown a few at a time).
	progress func(io.Writer) io.Writer
}

// run runs c through the process layer, streaming its output to out line
// by line as it is produced. When ctx is done the whole process group is
// killed, and so is anything the step left running after it exited.
func run(ctx context.Context, c command, out *stream, limit time.Duration) error {
	if ctx.Err() != nil {
		return interrupted(ctx, c.step, limit)
	}
	if c.header != "" {
		out.header("%s", c.header)
	}
	quiet, talked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(talked)
		out.keepTalking(time.Now(), quiet)
	}()
	var w io.Writer = out
	if c.progress != nil {
		w = c.progress(out)
	}
	err := supervisor.Run(ctx, supervisor.Command{Args: c.args, Dir: c.dir, Env: c.env, Stdout: c.stdout, Nice: BuildNice, Sandbox: c.sandbox, TmpDir: c.tmpDir}, w)
	close(quiet)
	<-talked
	out.endLine()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return interrupted(ctx, c.step, limit)
	}
	return failf(err, "%s: %v%s", c.step, err, c.hint)
}
