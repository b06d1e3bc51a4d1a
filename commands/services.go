package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

// serviceCommand is one command of the backing services, written once for
// every kind: in its usage and help, {kind} stands for the kind
// (postgres, redis), {server} for its server (PostgreSQL, Redis),
// {client} for its client (psql, redis-cli), {var} for the var its link
// sets (DATABASE_URL, REDIS_URL) and {var2} for the one it sets where the
// app has such a link already (DATABASE_NAME_URL).
type serviceCommand struct {
	usage, help string
	only        slipway.ServiceKind // the one kind it is for; "" for every kind
	run         func(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error
	input       func(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, in io.Reader, out io.Writer) error
}

// serviceTable is every kind's commands, in the order help lists them.
var serviceTable = []serviceCommand{
	{usage: "{kind}:list [--json]", help: "list the {server} services: version, state, linked apps, size, last backup", run: serviceList},
	{usage: "{kind}:create NAME [--version N]", help: "create a {server} server of its own (the host's newest version unless --version) and start it", run: serviceCreate},
	{usage: "{kind}:info NAME [--reveal] [--json]", help: "show a service's state, size, links, URL (masked unless --reveal), backups and limits", run: serviceInfo},
	{usage: "{kind}:link NAME APP", help: "set the service's URL as the app's {var} ({var2} if it has one) in a config release", run: serviceLink},
	{usage: "{kind}:unlink NAME APP", help: "unset the service's URL from the app's config in a config release", run: serviceUnlink},
	{usage: "{kind}:connect NAME", help: "run {client} on the service, attached to your terminal (ssh -t for a pty)", input: serviceConnect},
	{usage: "{kind}:logs NAME [-t] [-n LINES]", help: "show the {server} server's log; -t follows it", run: serviceLogs},
	{usage: "{kind}:restart NAME", help: "restart the service's server; its clients reconnect", run: byName(Apps.RestartService)},
	{usage: "{kind}:stop NAME", help: "stop the service's server; it stays stopped, across restarts too, until {kind}:start", run: byName(Apps.StopService)},
	{usage: "{kind}:start NAME", help: "start a stopped service's server again", run: byName(Apps.StartService)},
	{usage: "{kind}:export NAME > dump", help: "write a dump of the database (pg_dump -Fc) to standard output (ssh without -t)", only: slipway.Postgres, run: byName(Apps.ExportService)},
	{usage: "{kind}:import NAME < dump", help: "restore a dump (of {kind}:export, pg_dump -Fc) read from standard input into the database", only: slipway.Postgres, input: serviceImport},
	{usage: "{kind}:backup NAME", help: "take a backup of the service now, kept on the host", run: serviceBackup},
	{usage: "{kind}:backups NAME", help: "list the service's backups, newest first", run: serviceBackups},
	{usage: "{kind}:restore NAME BACKUP", help: "replace the service's data with one of its backups ({kind}:backups lists them)", run: serviceRestore},
	{usage: "{kind}:backup-schedule NAME SPEC [--keep N]", help: "take backups on a schedule (cron's '0 3 * * *' or @daily; off for none), keeping the newest N (7)", run: serviceBackupSchedule},
	{usage: "{kind}:destroy NAME --confirm NAME", help: "stop the service and remove its data and backups (unlink every app first)", run: serviceDestroy},
}

// serviceNames are each kind's server and client.
var serviceNames = map[slipway.ServiceKind]struct{ server, client string }{
	slipway.Postgres: {"PostgreSQL", "psql"},
	slipway.Redis:    {"Redis", "redis-cli"},
}

// serviceCommands returns serviceTable's commands for each of kinds, bound
// to their kind.
func serviceCommands(kinds ...slipway.ServiceKind) []Command {
	var cmds []Command
	for _, k := range kinds {
		words := strings.NewReplacer("{kind}", string(k), "{server}", serviceNames[k].server,
			"{client}", serviceNames[k].client, "{var}", k.LinkVar("", true), "{var2}", k.LinkVar("NAME", false))
		for _, c := range serviceTable {
			if c.only != "" && c.only != k {
				continue
			}
			cmd := Command{Usage: words.Replace(c.usage), Help: words.Replace(c.help)}
			cmd.Name, _, _ = strings.Cut(cmd.Usage, " ")
			if c.input != nil {
				cmd.input = func(ctx context.Context, a Apps, u string, args []string, in io.Reader, out io.Writer) error {
					return c.input(ctx, a, k, u, args, in, out)
				}
			} else {
				cmd.run = func(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
					return c.run(ctx, a, k, u, args, out)
				}
			}
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

// isServiceCommand reports whether name is a command of the backing
// services (postgres:create, redis:info, …).
func isServiceCommand(name string) bool {
	kind, _, ok := strings.Cut(name, ":")
	return ok && slices.Contains(slipway.ServiceKinds, slipway.ServiceKind(kind))
}

// flagArgs is a command's words with its flags taken out (parseFlags).
type flagArgs struct {
	words []string
	flags map[string]string
}

// parseFlags takes the flags out of args: flags names each flag the
// command knows, with whether a value follows it. A flag may stand
// anywhere; one it does not know is refused.
func parseFlags(u string, args []string, flags map[string]bool) (flagArgs, error) {
	p := flagArgs{flags: map[string]string{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			p.words = append(p.words, arg)
			continue
		}
		takesValue, known := flags[arg]
		switch {
		case !known:
			return p, slipway.Errorf(slipway.EINVALID, "unknown flag %q (usage: %s)", slipway.OneLine(arg, 40), u)
		case takesValue && i+1 == len(args):
			return p, slipway.Errorf(slipway.EINVALID, "%s needs a value (usage: %s)", arg, u)
		case takesValue:
			i++
			p.flags[arg] = args[i]
		default:
			p.flags[arg] = ""
		}
	}
	return p, nil
}

// has reports whether any of names was given.
func (p flagArgs) has(names ...string) bool {
	_, ok := p.value(names...)
	return ok
}

// value is the value of the last of names that was given.
func (p flagArgs) value(names ...string) (string, bool) {
	v, found := "", false
	for _, n := range names {
		if s, ok := p.flags[n]; ok {
			v, found = s, true
		}
	}
	return v, found
}

// intFlag is the value of the flag called names as a number from lo to
// hi (want says what it counts), or def when it was not given.
func (p flagArgs) intFlag(def, lo, hi int, want string, names ...string) (int, error) {
	s, ok := p.value(names...)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, slipway.Errorf(slipway.EINVALID, "%s %q: want %s from %d to %d", names[0], slipway.OneLine(s, 20), want, lo, hi)
	}
	return n, nil
}

// oneService checks that args is exactly one valid service name.
func oneService(u string, args []string) (string, error) {
	return oneName(u, args, slipway.ValidateServiceName)
}

// byName is a command whose one word is the service's name, which it
// passes to use; export's out is the dump file, and it writes nothing else.
func byName(use func(Apps, context.Context, slipway.ServiceKind, string, io.Writer) error) func(context.Context, Apps, slipway.ServiceKind, string, []string, io.Writer) error {
	return func(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
		name, err := oneService(u, args)
		if err != nil {
			return err
		}
		return use(a, ctx, k, name, out)
	}
}

// serviceAndApp parses NAME APP.
func serviceAndApp(u string, args []string) (string, string, error) {
	if len(args) != 2 {
		return "", "", usageError(u)
	}
	if err := slipway.ValidateServiceName(args[0]); err != nil {
		return "", "", err
	}
	if err := slipway.ValidateAppName(args[1]); err != nil {
		return "", "", err
	}
	return args[0], args[1], nil
}

// majorVersion is the shape of --version: a server's major version.
var majorVersion = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)

func serviceCreate(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	p, err := parseFlags(u, args, map[string]bool{"--version": true})
	if err != nil {
		return err
	}
	name, err := oneService(u, p.words)
	if err != nil {
		return err
	}
	version, _ := p.value("--version")
	if version != "" && !majorVersion.MatchString(version) {
		return slipway.Errorf(slipway.EINVALID, "--version %q: want a major version such as 16 (leave it out for the host's newest)", slipway.OneLine(version, 20))
	}
	return a.CreateService(ctx, k, name, version, out)
}

func serviceLink(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	name, app, err := serviceAndApp(u, args)
	if err != nil {
		return err
	}
	v, err := a.LinkService(ctx, k, name, app, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Linked %s to %s as %s (config %s shows it masked)\n", name, app, v, app)
	return nil
}

func serviceUnlink(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	name, app, err := serviceAndApp(u, args)
	if err != nil {
		return err
	}
	return a.UnlinkService(ctx, k, name, app, out)
}

// writeJSON writes v indented, as --json prints.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func serviceList(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	p, err := parseFlags(u, args, map[string]bool{"--json": false})
	if err != nil {
		return err
	}
	if len(p.words) != 0 {
		return usageError(u)
	}
	list, err := a.Services(ctx, k)
	if err != nil {
		return err
	}
	if p.has("--json") {
		if list == nil {
			list = []slipway.ServiceStatus{}
		}
		return writeJSON(out, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(out, "no %s services: create one with %s:create NAME\n", k, k)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSTATE\tLINKED-APPS\tSIZE\tLAST-BACKUP")
	for _, s := range list {
		apps := make([]string, 0, len(s.Links))
		for _, l := range s.Links {
			apps = append(apps, l.App)
		}
		linked := strings.Join(apps, ",")
		if linked == "" {
			linked = "-"
		}
		last := "never"
		if s.LastBackup != nil {
			last = Age(now.Sub(s.LastBackup.Taken)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Version, s.State, linked, slipway.HumanBytes(s.Size), last)
	}
	return tw.Flush()
}

func serviceInfo(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	p, err := parseFlags(u, args, map[string]bool{"--json": false, "--reveal": false})
	if err != nil {
		return err
	}
	name, err := oneService(u, p.words)
	if err != nil {
		return err
	}
	reveal := p.has("--reveal")
	s, err := a.Service(ctx, k, name, reveal)
	if err != nil {
		return err
	}
	if p.has("--json") {
		return writeJSON(out, s)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(label, v string) { fmt.Fprintf(tw, "%s:\t%s\n", label, v) }
	row("Service", fmt.Sprintf("%s (%s %s)", s.Name, serviceNames[k].server, s.Version))
	row("State", s.State)
	if s.PID > 0 {
		row("PID", strconv.Itoa(s.PID))
	}
	if !s.Since.IsZero() {
		row("Since", fmt.Sprintf("%s (%s ago)", s.Since.UTC().Format(time.RFC3339), Age(now.Sub(s.Since))))
	}
	row("Restarts", strconv.Itoa(s.Restarts))
	row("Size", slipway.HumanBytes(s.Size))
	links := make([]string, 0, len(s.Links))
	for _, l := range s.Links {
		links = append(links, l.App+" ("+l.Var+")")
	}
	if len(links) == 0 {
		links = append(links, fmt.Sprintf("none (%s:link %s APP links one)", k, name))
	}
	row("Linked apps", strings.Join(links, ", "))
	url := s.URL
	if !reveal {
		url += "  (--reveal shows the password)"
	}
	row("URL", url)
	if b := s.LastBackup; b != nil {
		row("Last backup", fmt.Sprintf("%s (%s, %s ago)", b.Name, slipway.HumanBytes(b.Size), Age(now.Sub(b.Taken))))
	} else {
		row("Last backup", fmt.Sprintf("none (%s:backup %s takes one)", k, name))
	}
	if s.BackupSchedule != "" {
		row("Backup schedule", fmt.Sprintf("%s, keeping the newest %d", s.BackupSchedule, s.BackupKeep))
	} else {
		row("Backup schedule", fmt.Sprintf("none (%s:backup-schedule %s @daily sets one)", k, name))
	}
	row("Limits", s.Limits.String())
	return tw.Flush()
}

func serviceLogs(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	p, err := parseFlags(u, args, map[string]bool{"-t": false, "--tail": false, "-n": true, "--num": true})
	if err != nil {
		return err
	}
	name, err := oneService(u, p.words)
	if err != nil {
		return err
	}
	opt := slipway.LogOptions{Follow: p.has("-t", "--tail")}
	if opt.Lines, err = p.intFlag(0, 1, 100000, "a number of lines", "-n", "--num"); err != nil {
		return err
	}
	// What the server logs quotes its clients: it must not drive the
	// reader's terminal.
	safe := termsafe.NewWriter(out)
	defer safe.Flush()
	return a.ServiceLogs(ctx, k, name, opt, safe)
}

func serviceConnect(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, in io.Reader, out io.Writer) error {
	name, err := oneService(u, args)
	if err != nil {
		return err
	}
	return exitStatus(a.ConnectService(ctx, k, name, callerTerminal(ctx, in, out)))
}

func serviceImport(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, in io.Reader, out io.Writer) error {
	name, err := oneService(u, args)
	if err != nil {
		return err
	}
	if in == nil {
		return usageError(u)
	}
	return a.ImportService(ctx, k, name, in, out)
}

func serviceBackup(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	name, err := oneService(u, args)
	if err != nil {
		return err
	}
	_, err = a.BackupService(ctx, k, name, out) // which says what it took
	return err
}

func serviceBackups(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	name, err := oneService(u, args)
	if err != nil {
		return err
	}
	list, err := a.ServiceBackups(ctx, k, name)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(out, "%s has no backups: take one with %s:backup %s\n", name, k, name)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tTAKEN")
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s (%s ago)\n", slipway.OneLine(b.Name, 100), slipway.HumanBytes(b.Size), b.Taken.UTC().Format("2006-01-02 15:04:05 UTC"), Age(now.Sub(b.Taken)))
	}
	return tw.Flush()
}

// backupName is the shape of a backup's file name: no path.
var backupName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func serviceRestore(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	name, err := oneService(u, args[:1])
	if err != nil {
		return err
	}
	if !backupName.MatchString(args[1]) {
		return slipway.Errorf(slipway.EINVALID, "%q is no backup's name: %s:backups %s lists them", slipway.OneLine(args[1], 40), k, name)
	}
	return a.RestoreService(ctx, k, name, args[1], out)
}

func serviceBackupSchedule(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	p, err := parseFlags(u, args, map[string]bool{"--keep": true})
	if err != nil {
		return err
	}
	if len(p.words) < 2 {
		return usageError(u)
	}
	name, err := oneService(u, p.words[:1])
	if err != nil {
		return err
	}
	keep, err := p.intFlag(7, 1, 1000, "how many scheduled backups to keep", "--keep")
	if err != nil {
		return err
	}
	// The ssh command line comes split into words: '0 3 * * *' and
	// 0 3 '*' '*' '*' are the same spec, which the layer checks.
	spec := strings.Join(strings.Fields(strings.Join(p.words[1:], " ")), " ")
	return a.ScheduleBackups(ctx, k, name, spec, keep, out)
}

func serviceDestroy(ctx context.Context, a Apps, k slipway.ServiceKind, u string, args []string, out io.Writer) error {
	if len(args) != 3 || args[1] != "--confirm" {
		return usageError(u)
	}
	name, err := oneService(u, args[:1])
	if err != nil {
		return err
	}
	if args[2] != name {
		return slipway.Errorf(slipway.EINVALID, "--confirm %q does not match %q: type the service's name to destroy it", slipway.OneLine(args[2], 40), name)
	}
	return a.DestroyService(ctx, k, name, out)
}
