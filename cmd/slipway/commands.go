package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
)

// commands are the management commands users run over ssh:
// `ssh -p 2222 git@HOST ps NAME`.
func commands(rel *releaser.Releaser, be *backend, repoDir func(string) string) map[string]gitserver.CommandFunc {
	cmds := map[string]gitserver.CommandFunc{
		"releases": func(ctx context.Context, args []string, out io.Writer) error {
			asJSON := len(args) > 0 && args[len(args)-1] == "--json"
			if asJSON {
				args = args[:len(args)-1]
			}
			name, err := oneApp("releases NAME [--json]", args)
			if err != nil {
				return err
			}
			rels, err := be.Releases(ctx, name)
			if err != nil {
				return err
			}
			return writeReleases(out, toJSON(rels), asJSON, time.Now())
		},
		"rollback": func(ctx context.Context, args []string, out io.Writer) error {
			const usage = "rollback NAME [vN]"
			if len(args) < 1 || len(args) > 2 {
				return usageError(usage)
			}
			name, err := oneApp(usage, args[:1])
			if err != nil {
				return err
			}
			var to slipway.Version
			if len(args) == 2 {
				if to, err = parseVersion(args[1]); err != nil {
					return err
				}
			}
			_, err = be.Rollback(ctx, name, to, "ssh", out)
			return err
		},
		"ps": func(ctx context.Context, args []string, out io.Writer) error {
			name, err := oneApp("ps NAME", args)
			if err != nil {
				return err
			}
			procs, err := rel.Processes(name)
			if err != nil {
				return err
			}
			writePS(out, procs, time.Now())
			return nil
		},
		"ps:scale": func(ctx context.Context, args []string, out io.Writer) error {
			const usage = "ps:scale NAME TYPE=N..."
			if len(args) < 2 {
				return usageError(usage)
			}
			name := args[0]
			if err := slipway.ValidateAppName(name); err != nil {
				return err
			}
			type change struct {
				typ string
				n   int
			}
			var changes []change
			for _, arg := range args[1:] {
				typ, count, ok := strings.Cut(arg, "=")
				n, err := strconv.Atoi(count)
				if !ok || err != nil || typ == "" {
					return slipway.Errorf(slipway.EINVALID, "%q: want TYPE=COUNT such as web=3 (usage: %s)", arg, usage)
				}
				changes = append(changes, change{typ, n})
			}
			unlock, err := rel.Lock(ctx, name, out)
			if err != nil {
				return err
			}
			defer unlock()
			for _, c := range changes {
				if err := rel.Scale(ctx, name, c.typ, c.n, out); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmds["ps:restart"] = func(ctx context.Context, args []string, out io.Writer) error {
		name, err := oneApp("ps:restart NAME", args)
		if err != nil {
			return err
		}
		unlock, err := rel.Lock(ctx, name, out)
		if err != nil {
			return err
		}
		defer unlock()
		return rel.Restart(ctx, name, out)
	}
	cmds["cron:list"] = func(ctx context.Context, args []string, out io.Writer) error {
		name, err := oneApp("cron:list NAME", args)
		if err != nil {
			return err
		}
		jobs, err := rel.CronList(name)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", j.ID, j.Schedule, j.Next.UTC().Format(time.RFC3339), oneLine(j.Command, 60))
		}
		return tw.Flush()
	}
	cmds["logs"] = func(ctx context.Context, args []string, out io.Writer) error {
		const usage = "logs NAME [-t] [-n LINES] [-p PROCESS]"
		var opt supervisor.LogOptions
		var pos []string
		for i := 0; i < len(args); i++ {
			switch a := args[i]; a {
			case "-t", "--tail":
				opt.Follow = true
			case "-n", "--num", "-p", "--process":
				if i+1 == len(args) {
					return usageError(usage)
				}
				i++
				if a == "-p" || a == "--process" {
					opt.Process = args[i]
					break
				}
				n, err := strconv.Atoi(args[i])
				if err != nil || n < 1 || n > 100000 {
					return slipway.Errorf(slipway.EINVALID, "-n %q: want a number of lines from 1 to 100000", args[i])
				}
				opt.Lines = n
			default:
				if strings.HasPrefix(a, "-") {
					return slipway.Errorf(slipway.EINVALID, "unknown flag %q (usage: %s)", a, usage)
				}
				pos = append(pos, a)
			}
		}
		name, err := oneApp(usage, pos)
		if err != nil {
			return err
		}
		return rel.Logs(ctx, name, opt, out)
	}
	maps.Copy(cmds, configCommands(rel, be.store))
	maps.Copy(cmds, appsCommands(rel, be, repoDir))
	for name, run := range cmds {
		cmds[name] = withHelp(name, run)
	}
	return cmds
}

// commandHelp is each command's usage and what it does, for --help and the
// README's table.
var commandHelp = map[string][2]string{
	"apps:list":    {"apps:list", "list apps with their live release, instances and URL"},
	"apps:create":  {"apps:create NAME", "create an app before its first push"},
	"apps:info":    {"apps:info NAME", "show an app's URL, live release, instances and config count"},
	"apps:destroy": {"apps:destroy NAME --confirm NAME", "stop everything and remove the repository, releases and history"},
	"config":       {"config NAME [--reveal]", "list config vars, values masked unless --reveal"},
	"config:get":   {"config:get NAME KEY", "print one value exactly"},
	"config:set":   {"config:set NAME [--no-restart] KEY=VALUE...", "set vars and release them (a config release) unless --no-restart"},
	"config:unset": {"config:unset NAME [--no-restart] KEY...", "unset vars and release unless --no-restart"},
	"ps":           {"ps NAME", "list instances: release, state, pid, port, uptime, restarts"},
	"ps:scale":     {"ps:scale NAME TYPE=N...", "set instance counts (web=3 worker=2) without a new release"},
	"ps:restart":   {"ps:restart NAME", "rolling restart of the live release, no request lost"},
	"logs":         {"logs NAME [-t] [-n LINES] [-p PROCESS]", "show the app's output; -t follows across deploys"},
	"cron:list":    {"cron:list NAME", "list the live release's cron jobs and their next run"},
	"releases":     {"releases NAME [--json]", "the release history, newest first, live marked *"},
	"rollback":     {"rollback NAME [vN]", "roll back to vN, or to the release before the live one"},
}

// withHelp answers -h and --help with the command's usage.
func withHelp(name string, run gitserver.CommandFunc) gitserver.CommandFunc {
	return func(ctx context.Context, args []string, out io.Writer) error {
		for _, a := range args {
			if a == "--help" || a == "-h" {
				h := commandHelp[name]
				_, err := fmt.Fprintf(out, "Usage: %s\n\n%s\n", h[0], h[1])
				return err
			}
		}
		return run(ctx, args, out)
	}
}

// oneApp checks that args is exactly one valid app name.
func oneApp(usage string, args []string) (string, error) {
	if len(args) != 1 {
		return "", usageError(usage)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return "", err
	}
	return args[0], nil
}

func usageError(usage string) error {
	return slipway.Errorf(slipway.EINVALID, "usage: %s", usage)
}

// writePS prints instances as an aligned table.
func writePS(out io.Writer, procs []releaser.Instance, now time.Time) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tRELEASE\tSTATE\tPID\tPORT\tUPTIME\tRESTARTS")
	for _, p := range procs {
		release := p.Release.String()
		if p.Live {
			release += " (live)"
		} else {
			release += " (draining)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\n", p.ID, release, p.State, p.PID, p.Port,
			now.Sub(p.Since).Round(time.Second), p.Restarts)
	}
	tw.Flush()
}
