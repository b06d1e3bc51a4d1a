package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/slipway/slipway/commands"
)

// maxStdin bounds what a command reads from standard input.
const maxStdin = 1 << 20

// errStdin refuses standard input that the admin API would not pass on
// unchanged: it carries it in a JSON string, which holds text only (other
// bytes would arrive as U+FFFD), and reads a bounded body.
func errStdin(name string, stdin []byte) error {
	why := ""
	switch {
	case len(stdin) > maxStdin:
		why = fmt.Sprintf("is longer than the %d KiB slipway %s can pass", maxStdin>>10, name)
	case !utf8.Valid(stdin):
		why = fmt.Sprintf("is not text (a binary dump?), and slipway %s can pass only text", name)
	default:
		return nil
	}
	return fmt.Errorf("standard input %s to the admin API: run it over ssh, ssh -p 2222 git@HOST %s ... < FILE", why, name)
}

// runRemote is `slipway COMMAND ARGS…` for the management commands
// (apps:list, config:set, logs, ps:scale, …): it runs the command in the
// slipway serving on this host through the admin API, found with
// SLIPWAY_ADMIN_ADDR, SLIPWAY_ADMIN_TOKEN and SLIPWAY_DATA, and streams the
// output; a command that reads input (certs:add) gets this one's standard
// input.
func runRemote(ctx context.Context, name string, args []string) int {
	fs := flag.NewFlagSet("slipway "+name, flag.ContinueOnError)
	client, err := clientFlags(fs)()
	if err != nil {
		return cliFail(err)
	}
	client.HTTP.Timeout = 0 // logs -t follows until interrupted
	var stdin []byte
	if c, _ := commands.Find(name); c.ReadsInput() {
		if stdin, err = io.ReadAll(io.LimitReader(os.Stdin, maxStdin+1)); err != nil {
			return cliFail(err)
		}
		if err := errStdin(name, stdin); err != nil {
			return cliFail(err)
		}
	}
	if err := client.Command(ctx, name, args, stdin, os.Stdout); err != nil {
		if ctx.Err() != nil { // interrupted: logs -t ends this way
			return 0
		}
		return cliFail(err)
	}
	return 0
}
