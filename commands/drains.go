package commands

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
)

// drainCommands are the log drains' (Heroku's drains:add).
var drainCommands = []Command{
	{"drains", "drains NAME [--json]", "the app's log drains: id, URL (secrets masked), state, lines sent and dropped", drainsList, nil},
	{"drains:add", "drains:add NAME URL", "send the app's log to syslog+tls://HOST:PORT, syslog://HOST:PORT or https://HOST/PATH too", drainsAdd, nil},
	{"drains:remove", "drains:remove NAME URL|ID", "stop sending the app's log to that drain", drainsRemove, nil},
}

func drainsList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	args, asJSON := cutFlag(args, "--json")
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	list, err := a.LogDrains(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(out, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(out, "%s has no drains: drains:add %s URL sends its log to one\n", name, name)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tSTATE\tSENT\tDROPPED\tQUEUED\tLAST ERROR")
	for _, d := range list {
		state := d.State
		if !d.Since.IsZero() && d.State != slipway.DrainOff {
			state += " for " + Age(now.Sub(d.Since))
		}
		lastErr := "-"
		if d.LastError != "" {
			lastErr = slipway.OneLine(d.LastError, 200)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", d.ID, slipway.OneLine(d.URL, 100), state, d.Sent, d.Dropped, d.Queued, lastErr)
	}
	return tw.Flush()
}

func drainsAdd(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	return a.AddLogDrain(ctx, args[0], args[1], out)
}

func drainsRemove(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	return a.RemoveLogDrain(ctx, args[0], args[1], out)
}
