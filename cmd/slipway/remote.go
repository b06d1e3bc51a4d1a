package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/slipway/slipway/commands"
)

// maxStdin bounds what a command reads from standard input.
const maxStdin = 1 << 20

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
		if stdin, err = io.ReadAll(io.LimitReader(os.Stdin, maxStdin)); err != nil {
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
