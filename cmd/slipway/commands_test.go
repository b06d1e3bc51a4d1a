package main

import (
	"strings"
	"testing"

	"github.com/slipway/slipway/releaser"
)

// Every command answers --help with its usage, and none lacks one.
func TestCommands_EveryCommandHasHelp(t *testing.T) {
	cmds := commands(&releaser.Releaser{}, &backend{}, func(string) string { return "" })
	for name, run := range cmds {
		h, ok := commandHelp[name]
		if !ok {
			t.Errorf("%s has no help", name)
			continue
		}
		var out strings.Builder
		if err := run(t.Context(), []string{"--help"}, &out); err != nil {
			t.Errorf("%s --help: %v", name, err)
		}
		if !strings.HasPrefix(out.String(), "Usage: "+h[0]) {
			t.Errorf("%s --help = %q", name, out.String())
		}
	}
	for name := range commandHelp {
		if _, ok := cmds[name]; !ok {
			t.Errorf("help for %s, which is no command", name)
		}
	}
}
