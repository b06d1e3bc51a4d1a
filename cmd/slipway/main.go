package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/slipway/slipway/commands"
	"github.com/slipway/slipway/internal/termsafe"
	v "github.com/slipway/slipway/internal/version"
	"github.com/slipway/slipway/supervisor"
)

func main() {
	supervisor.Reexec() // a sandboxed app process starting: never returns
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// usage is `slipway help`; the management commands come from their table.
var usage = `slipway: git push to deploy

Usage:
  slipway serve [flags]      run the server (slipway serve --help for flags)
  slipway router [flags]     a router replica of the apps on Kubernetes (slipway router --help)
  slipway releases NAME      an app's release history (--json for JSON)
  slipway rollback NAME [vN] roll back to vN, or to the release before the live one
  slipway upgrade            hand the running slipway over to the executable at its path
                             (a new version, say) without stopping an app; as kill -HUP PID
  slipway COMMAND ARGS...    any command of ssh git@HOST COMMAND, run through the admin API:
` + commands.Names(strings.Repeat(" ", 29), 93, "releases", "rollback", "version", "help") + `  slipway hook pre-receive   run by git during a push; not for people
  slipway version            print the version

The local commands find slipway with SLIPWAY_ADMIN_ADDR (default 127.0.0.1:8090) and
SLIPWAY_ADMIN_TOKEN (default: read from $SLIPWAY_DATA/admin_token, ./slipway-data).
` + laptopUsage

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	args, code, done := runLaptop(ctx, args) // from a clone: over ssh
	if done {
		return code
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:])
	case "router":
		return runRouter(ctx, args[1:])
	case "hook":
		return runHook(args[1:])
	case "releases":
		return runReleases(ctx, args[1:])
	case "rollback":
		return runRollback(ctx, args[1:])
	case "upgrade":
		return runUpgrade(ctx, args[1:])
	case "version", "--version":
		fmt.Println("slipway", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	if _, ok := commands.Find(args[0]); ok {
		return runRemote(ctx, args[0], args[1:])
	}
	fmt.Fprintf(os.Stderr, "slipway: %s\n\n%s", termsafe.Clean(commands.Unknown(args[0])), usage)
	return 2
}

// version, when set at build time with -ldflags "-X main.version=…", is
// the version (the older way; internal/version.Version is the new one).
var version = ""

// versionString is the version slipway prints.
func versionString() string {
	if version != "" && v.Version == "" {
		v.Version = version
	}
	return v.String()
}
