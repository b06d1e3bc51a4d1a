package main

import (
	"context"
	"flag"
	"os"
)

// runRemote is `slipway COMMAND ARGS…` for the management commands
// (apps:list, config:set, logs, ps:scale, …): it runs the command in the
// slipway serving on this host through the admin API, found with
// SLIPWAY_ADMIN_ADDR, SLIPWAY_ADMIN_TOKEN and SLIPWAY_DATA, and streams the
// output.
func runRemote(ctx context.Context, name string, args []string) int {
	fs := flag.NewFlagSet("slipway "+name, flag.ContinueOnError)
	client, err := clientFlags(fs)()
	if err != nil {
		return cliFail(err)
	}
	client.HTTP.Timeout = 0 // logs -t follows until interrupted
	if err := client.Command(ctx, name, args, os.Stdout); err != nil {
		if ctx.Err() != nil { // interrupted: logs -t ends this way
			return 0
		}
		return cliFail(err)
	}
	return 0
}
