package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/slipway/slipway"
)

func sshKeysAdd(ctx context.Context, a Apps, u string, args []string, in io.Reader, out io.Writer) error {
	var name string
	var apps []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--app":
			if i+1 == len(args) {
				return usageError(u)
			}
			apps = append(apps, args[i+1])
			i++
		case name == "" && !strings.HasPrefix(args[i], "-"):
			name = args[i]
		default:
			return usageError(u)
		}
	}
	if name == "" || in == nil {
		return usageError(u)
	}
	data, err := io.ReadAll(io.LimitReader(in, 16<<10))
	if err != nil {
		return err
	}
	k, err := a.AddSSHKey(ctx, name, data, apps)
	if err != nil {
		return err
	}
	reach := "every app"
	if len(k.Apps) > 0 {
		reach = strings.Join(k.Apps, ", ")
	}
	fmt.Fprintf(out, "Added key %s (%s %s); it may reach %s\n", k.Name, k.Type, k.Fingerprint, reach)
	return nil
}

func sshKeysList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	keys, err := a.SSHKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tFINGERPRINT\tAPPS")
	for _, k := range keys {
		apps := "(every app)"
		if k.Apps != nil {
			apps = strings.Join(k.Apps, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", slipway.OneLine(k.Name, 64), k.Type, k.Fingerprint, apps)
	}
	return tw.Flush()
}

func sshKeysRemove(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 1 {
		return usageError(u)
	}
	if err := a.RemoveSSHKey(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(out, "Removed key %s\n", args[0])
	return nil
}
