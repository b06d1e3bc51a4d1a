package commands

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

func ps(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	procs, err := a.Processes(ctx, name)
	if err != nil {
		return err
	}
	now := time.Now()
	if len(procs) == 0 {
		return noProcesses(ctx, a, name, now, out)
	}
	writePS(out, procs, now)
	drains, err := a.Draining(ctx, name)
	if err != nil {
		return err
	}
	for _, d := range drains {
		seen := "never seen"
		if !d.LastSeen.IsZero() {
			seen = "last seen " + Age(now.Sub(d.LastSeen)) + " ago"
		}
		if !d.SleepingSince.IsZero() {
			seen += "; sleeping since " + Age(now.Sub(d.SleepingSince)) + " ago (its processes stopped: the next request pinned to it wakes it)"
		}
		fmt.Fprintf(out, "%s drains since %s ago for the sessions pinned to it (%s since), %s: retired once they have been idle until %s, by %s at the latest (releases:retire %s %s ends it now)\n",
			d.Release, Age(now.Sub(d.Since)), sessionsSeen(d.Sessions), seen, d.IdleRetire.UTC().Format(time.TimeOnly),
			d.RetireBy.UTC().Format("2006-01-02 15:04:05 UTC"), name, d.Release)
	}
	return nil
}

// noProcesses says why app runs no process: stopped (since when, by
// whom), not deployed yet, or scaled to none.
func noProcesses(ctx context.Context, a Apps, name string, now time.Time, out io.Writer) error {
	d, err := a.App(ctx, name)
	if err != nil {
		return err
	}
	switch {
	case d.Stopped:
		since := ""
		for _, e := range d.Events { // newest first
			if e.Kind == slipway.EventStop {
				since = fmt.Sprintf(" (since %s ago, by %s)", Age(now.Sub(e.At)), termsafe.Clean(e.By))
				break
			}
		}
		fmt.Fprintf(out, "%s is stopped%s: no process runs; ps:start %s starts it\n", name, since, name)
	case !hasLive(ctx, a, name):
		fmt.Fprintf(out, "%s has no live release: git push to %s deploys it\n", name, d.GitRemote)
	case !d.SleepingSince.IsZero():
		fmt.Fprintf(out, "%s is sleeping (since %s ago, idle for %s): the next request starts it; ps:autosleep %s off keeps it running\n",
			name, Age(now.Sub(d.SleepingSince)), d.Autosleep, name)
	default:
		fmt.Fprintf(out, "%s runs no process: ps:scale %s web=1 starts one\n", name, name)
	}
	return nil
}

// hasLive reports whether app has a live release.
func hasLive(ctx context.Context, a Apps, name string) bool {
	rels, _ := a.Releases(ctx, name)
	for _, r := range rels {
		if r.Status == slipway.StatusLive {
			return true
		}
	}
	return false
}

// sessionsSeen is "1 session seen", "3 sessions seen".
func sessionsSeen(n int) string {
	if n == 1 {
		return "1 session seen"
	}
	return strconv.Itoa(n) + " sessions seen"
}

// writePS prints instances as an aligned table.
func writePS(out io.Writer, procs []slipway.ProcessStatus, now time.Time) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tRELEASE\tSTATE\tPID\tPORT\tUPTIME\tRESTARTS")
	for _, p := range procs {
		release := p.Release.String()
		if p.Live {
			release += " (live)"
		} else {
			release += " (draining)"
		}
		state := p.State
		switch {
		case p.LastExit == "":
		case state == slipway.StateCrashed:
			state += " (" + p.LastExit + ")"
		default:
			state += " (last exit: " + p.LastExit + ")"
		}
		port := "-" // a worker listens on none
		if p.Port > 0 {
			port = strconv.Itoa(p.Port)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\n", p.ID, release, state, p.PID, port,
			now.Sub(p.Since).Round(time.Second), p.Restarts)
	}
	tw.Flush()
}

func psScale(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) < 2 {
		return usageError(u)
	}
	name := args[0]
	if err := slipway.ValidateAppName(name); err != nil {
		return err
	}
	var changes []slipway.ScaleChange
	for _, arg := range args[1:] {
		typ, count, ok := strings.Cut(arg, "=")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || typ == "" {
			return slipway.Errorf(slipway.EINVALID, "%q: want TYPE=COUNT such as web=3 (usage: %s)", arg, u)
		}
		changes = append(changes, slipway.ScaleChange{Type: typ, Count: n})
	}
	return a.Scale(ctx, name, changes, out)
}

func psRestart(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.Restart(ctx, name, out)
}

func cronList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	jobs, err := a.CronList(ctx, name)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		fmt.Fprintf(out, "%s has no cron jobs (app.json \"cron\")\n", name)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCHEDULE\tNEXT RUN\tCOMMAND")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", j.ID, j.Schedule, j.Next.UTC().Format(time.RFC3339), slipway.OneLine(j.Command, 60))
	}
	return tw.Flush()
}

func logs(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	var opt slipway.LogOptions
	var pos []string
	for i := 0; i < len(args); i++ {
		switch arg := args[i]; arg {
		case "-t", "--tail":
			opt.Follow = true
		case "-n", "--num", "-p", "--process":
			if i+1 == len(args) {
				return usageError(u)
			}
			i++
			if arg == "-p" || arg == "--process" {
				opt.Process = args[i]
				break
			}
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 || n > 100000 {
				return slipway.Errorf(slipway.EINVALID, "-n %q: want a number of lines from 1 to 100000", args[i])
			}
			opt.Lines = n
		default:
			if strings.HasPrefix(arg, "-") {
				return slipway.Errorf(slipway.EINVALID, "unknown flag %q (usage: %s)", arg, u)
			}
			pos = append(pos, arg)
		}
	}
	name, err := oneApp(u, pos)
	if err != nil {
		return err
	}
	// What apps print reaches a terminal: it must not drive it.
	safe := termsafe.NewWriter(out)
	defer safe.Flush()
	return a.Logs(ctx, name, opt, safe)
}

func logsAccess(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	return a.SetAccessLog(ctx, args[0], args[1] == "on", out)
}

func psAutosleep(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	args, workers := cutFlag(args, "--workers")
	after := 15 * time.Minute
	for i := 0; i < len(args); i++ {
		if args[i] != "--after" {
			continue
		}
		if i+1 == len(args) {
			return usageError(u)
		}
		d, err := time.ParseDuration(args[i+1])
		if err != nil || d <= 0 {
			return slipway.Errorf(slipway.EINVALID, "--after %q: want a duration such as 90s, 15m or 1h", slipway.OneLine(args[i+1], 20))
		}
		after = d
		args = append(args[:i:i], args[i+2:]...)
		i--
	}
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	if args[1] == "off" {
		after, workers = 0, false
	}
	return a.SetAutosleep(ctx, args[0], after, workers, out)
}
