package main

import (
	"fmt"
	"os"

	"github.com/slipway/slipway/gitserver"
)

// runHook is what the pre-receive hook script in the data dir executes.
func runHook(args []string) int {
	if len(args) != 1 || args[0] != "pre-receive" {
		fmt.Fprintln(os.Stderr, "slipway hook: usage: slipway hook pre-receive (run by git, not by people)")
		return 2
	}
	return gitserver.RunHook(os.Stdin, os.Stdout, os.Environ())
}
