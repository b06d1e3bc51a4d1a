package commands

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/slipway/slipway"
)

func resources(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	limits, err := a.Resources(ctx, name)
	if err != nil {
		return err
	}
	if len(limits) == 0 {
		fmt.Fprintf(out, "%s has no resource limits but the default pids=%d for each process (resources:set %s memory=512M cpu=1 pids=256)\n",
			name, slipway.DefaultPIDs, name)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tLIMITS")
	for _, p := range slices.Sorted(maps.Keys(limits)) {
		label := p
		if p == slipway.AllProcesses {
			label = "(every process)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, limits[p])
	}
	fmt.Fprintf(tw, "(where no pids is set, each process may run %d)\n", slipway.DefaultPIDs)
	return tw.Flush()
}

func resourcesSet(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	return changeResources(ctx, a, u, args, out, true)
}

func resourcesUnset(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	return changeResources(ctx, a, u, args, out, false)
}

// changeResources parses NAME [--process TYPE] WORDS… and sets (KEY=VALUE)
// or unsets (KEY) them.
func changeResources(ctx context.Context, a Apps, u string, args []string, out io.Writer, set bool) error {
	process := slipway.AllProcesses
	var words []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--process" || args[i] == "-p" {
			if i+1 == len(args) {
				return usageError(u)
			}
			process, i = args[i+1], i+1
			continue
		}
		if strings.HasPrefix(args[i], "-") {
			return slipway.Errorf(slipway.EINVALID, "unknown flag %q (usage: %s)", args[i], u)
		}
		words = append(words, args[i])
	}
	if len(words) < 2 {
		return usageError(u)
	}
	name, err := oneApp(u, words[:1])
	if err != nil {
		return err
	}
	if set {
		return a.SetResources(ctx, name, process, words[1:], nil, out)
	}
	return a.SetResources(ctx, name, process, nil, words[1:], out)
}
