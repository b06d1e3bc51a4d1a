package commands

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/version"
)

// Apps is what the commands need of the application layer: the domain's
// use cases on apps and on backing services, which package apps
// implements.
type Apps interface {
	slipway.AppService
	slipway.BackingServices
	slipway.ImageService
	slipway.WebhookService
	slipway.LogDrainService
}

// Command is one management command.
type Command struct {
	Name  string
	Usage string // "ps:scale NAME TYPE=N..."
	Help  string // what it does, one line
	run   func(ctx context.Context, a Apps, usage string, args []string, out io.Writer) error
	// input, set instead of run, is a command that also reads standard
	// input (certs:add reads a PEM bundle).
	input func(ctx context.Context, a Apps, usage string, args []string, in io.Reader, out io.Writer) error
}

// scopes of commands, for keys limited to some apps (ssh-keys:add --app):
// most commands act on the app their first word names, which such a key
// must be allowed; a few act on slipway as a whole.
var (
	// everyone may run these, whatever its key may reach.
	anyKey = []string{"apps:list", "help", "version"}
	// only a key that may reach every app runs these, and the backing
	// services' commands (isServiceCommand): a service holds the password
	// of every app linked to it.
	adminOnly = []string{"apps:create", "apps:rename", "ssh-keys:add", "ssh-keys:list", "ssh-keys:remove"}
)

// allowed checks that the key running ctx's command may run it on args: a
// key limited to some apps finds every other app "not found".
func allowed(ctx context.Context, name string, args []string) error {
	key, ok := slipway.CallerKey(ctx)
	if !ok || !key.Restricted() || slices.Contains(anyKey, name) {
		return nil
	}
	if slices.Contains(adminOnly, name) || slices.Contains(imageCommands, name) || isServiceCommand(name) {
		return slipway.Errorf(slipway.EINVALID, "%s needs a key that may reach every app; this one may reach %s", name, strings.Join(key.Apps, ", "))
	}
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		return slipway.Errorf(slipway.EINVALID, "put the app's name first: %s NAME %s", name, strings.Join(args, " "))
	}
	if len(args) == 0 || !key.May(args[0]) {
		app := ""
		if len(args) > 0 {
			app = args[0]
		}
		return slipway.Errorf(slipway.ENOTFOUND, "no app named %q", slipway.OneLine(app, 40))
	}
	return nil
}

// ReadsInput reports whether the command reads standard input.
func (c Command) ReadsInput() bool { return c.input != nil }

// table is every command, in the order `slipway help` lists them: the
// apps' (their log drains' from drains.go after logs), the backing
// services' for each kind (services.go), the images' (images.go), the
// apps' webhooks' (webhooks.go), then slipway's own.
var table = slices.Concat([]Command{
	{"apps:list", "apps:list", "list apps with their live release, instances and URL", appsList, nil},
	{"apps:create", "apps:create NAME", "create an app before its first push", appsCreate, nil},
	{"apps:info", "apps:info NAME", "show an app's URL, live release, instances and config count", appsInfo, nil},
	{"apps:rename", "apps:rename OLD NEW", "rename the app: repository, releases, config and domains follow; it restarts", appsRename, nil},
	{"apps:destroy", "apps:destroy NAME --confirm NAME", "stop everything and remove the repository, releases and history", appsDestroy, nil},
	{"config", "config NAME [--reveal]", "list config vars, values masked unless --reveal", config, nil},
	{"config:get", "config:get NAME KEY", "print one value exactly", configGet, nil},
	{"config:set", "config:set NAME [--no-restart] KEY=VALUE...", "set vars and release them (a config release) unless --no-restart", configSet, nil},
	{"config:unset", "config:unset NAME [--no-restart] KEY...", "unset vars and release unless --no-restart", configUnset, nil},
	{"ps", "ps NAME", "list instances: release, state, pid, port, uptime, restarts", ps, nil},
	{"ps:scale", "ps:scale NAME TYPE=N...", "set instance counts (web=3 worker=2) without a new release", psScale, nil},
	{Name: "run", Usage: "run NAME [--] COMMAND...", Help: "run a command once in the live release, attached to your terminal (ssh -t for a pty)", input: run},
	{"run:detached", "run:detached NAME COMMAND...", "run a command once in the background; its output goes to the app's log", runDetached, nil},
	{"ps:restart", "ps:restart NAME", "rolling restart of the live release, no request lost", psRestart, nil},
	{"ps:stop", "ps:stop NAME", "stop every process of the app; it stays stopped, across restarts too, until ps:start or a push", psStop, nil},
	{"ps:start", "ps:start NAME", "run the live release of a stopped app again", psStart, nil},
	{"ps:autosleep", "ps:autosleep NAME on [--after 15m] [--workers] | off", "stop the web processes after that long without a request and start them on the next one (which waits for the health check); --workers: workers too", psAutosleep, nil},
	{"logs", "logs NAME [-t] [-n LINES] [-p PROCESS]", "show the app's output; -t follows across deploys", logs, nil},
	{"logs:access", "logs:access NAME on|off", "write the router's line for each request to the app's log (on, the default; logs NAME -p router shows them) or not", logsAccess, nil},
}, drainCommands, []Command{
	{"resources", "resources NAME", "show the app's resource limits by process type", resources, nil},
	{"resources:set", "resources:set NAME [--process TYPE] memory=512M cpu=1.5 pids=256", "set limits for every process, or for one type (web, worker, build, ...)", resourcesSet, nil},
	{"resources:unset", "resources:unset NAME [--process TYPE] KEY...", "remove limits (memory, cpu, pids)", resourcesUnset, nil},
	{"domains", "domains NAME", "list the app's domains: NAME.<domain> and its own", domains, nil},
	{"domains:add", "domains:add NAME DOMAIN...", "route more names to the app (shop.example.com, *.example.com)", domainsAdd, nil},
	{"domains:remove", "domains:remove NAME DOMAIN...", "stop routing names to the app", domainsRemove, nil},
	{"domains:clear", "domains:clear NAME", "remove every domain of the app's own", domainsClear, nil},
	{"certs", "certs NAME", "each domain's certificate: source (auto or manual), issuer, expiry, state", certsList, nil},
	{Name: "certs:add", Usage: "certs:add NAME < bundle.pem", Help: "give the app a certificate of its own: a PEM chain and its key on standard input", input: certsAdd},
	{"certs:remove", "certs:remove NAME", "drop the app's own certificate (automatic ones take over)", certsRemove, nil},
	{"certs:redirect", "certs:redirect NAME on|off", "redirect plain HTTP to HTTPS where the app has a certificate (on, the default) or not", certsRedirect, nil},
	{"maintenance:on", "maintenance:on NAME", "answer every request with 503 and the app's maintenance.html; the app keeps running", maintenanceOn, nil},
	{"maintenance:off", "maintenance:off NAME", "serve the app again", maintenanceOff, nil},
	{"cron:list", "cron:list NAME", "list the live release's cron jobs and their next run", cronList, nil},
	{"releases", "releases NAME [--json]", "the release history, newest first, live marked *", releases, nil},
	{"releases:info", "releases:info NAME vN [--json]", "one release's facts, its failure reason included", releasesInfo, nil},
	{"releases:log", "releases:log NAME vN", "one release's build and deploy log", releasesLog, nil},
	{"releases:retire", "releases:retire NAME vN", "retire a draining release now: its sessions move to the live one", releasesRetire, nil},
	{"rollback", "rollback NAME [vN]", "roll back to vN, or to the release before the live one", rollback, nil},
}, serviceCommands(slipway.ServiceKinds...), imageTable, webhookCommands, []Command{
	{"version", "version", "the version of the slipway that serves", showVersion, nil},
	{Name: "ssh-keys:add", Usage: "ssh-keys:add NAME [--app APP]... < key.pub", Help: "authorize a public key; with --app it may push to and manage only those apps", input: sshKeysAdd},
	{"ssh-keys:list", "ssh-keys:list", "the authorized keys: name, type, fingerprint, apps", sshKeysList, nil},
	{"ssh-keys:remove", "ssh-keys:remove NAME", "take a key's access away (never the last one that may reach every app)", sshKeysRemove, nil},
	{"help", "help", "every command with what it does", nil, nil}, // run set by init: help reads the table
})

// All returns every command, in the order help lists them.
func All() []Command { return slices.Clone(table) }

// Find returns the command called name.
func Find(name string) (Command, bool) {
	for _, c := range table {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Run runs command name with args against a, reading in if it takes
// input and writing its output to out. -h and --help anywhere print the
// usage instead. An unknown command is ENOTFOUND.
func Run(ctx context.Context, a Apps, name string, args []string, in io.Reader, out io.Writer) error {
	c, ok := Find(name)
	if !ok {
		return slipway.Errorf(slipway.ENOTFOUND, "%s", Unknown(name))
	}
	if slices.Contains(args, "--help") || slices.Contains(args, "-h") {
		_, err := fmt.Fprintf(out, "Usage: %s\n\n%s\n", c.Usage, c.Help)
		return err
	}
	if err := allowed(ctx, name, args); err != nil {
		return err
	}
	if c.input != nil {
		return c.input(ctx, a, c.Usage, args, in, out)
	}
	return c.run(ctx, a, c.Usage, args, out)
}

// Funcs returns the table bound to a, as the ssh endpoint runs it.
func Funcs(a Apps) map[string]slipway.CommandFunc {
	m := make(map[string]slipway.CommandFunc, len(table))
	for _, c := range table {
		m[c.Name] = func(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
			return Run(ctx, a, c.Name, args, in, out)
		}
	}
	return m
}

// Names returns the command names but those in except, space-separated
// and wrapped at width columns with indent before each line, for a usage
// text.
func Names(indent string, width int, except ...string) string {
	var b strings.Builder
	line := indent
	for _, c := range table {
		if slices.Contains(except, c.Name) {
			continue
		}
		if len(line)+len(c.Name)+1 > width && line != indent {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += c.Name + " "
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
	return b.String()
}

// oneApp checks that args is exactly one valid app name.
func oneApp(usage string, args []string) (string, error) {
	return oneName(usage, args, slipway.ValidateAppName)
}

// oneName checks that args is exactly one name that validate takes.
func oneName(usage string, args []string, validate func(string) error) (string, error) {
	if len(args) != 1 {
		return "", usageError(usage)
	}
	if err := validate(args[0]); err != nil {
		return "", err
	}
	return args[0], nil
}

func usageError(usage string) error {
	return slipway.Errorf(slipway.EINVALID, "usage: %s", usage)
}

// cutFlag removes every flag from args and reports whether it was there.
func cutFlag(args []string, flag string) ([]string, bool) {
	out := args[:0:0]
	found := false
	for _, a := range args {
		if a == flag {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

func showVersion(_ context.Context, _ Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	_, err := fmt.Fprintln(out, "slipway", version.String())
	return err
}

func init() {
	for i := range table {
		if table[i].Name == "help" {
			table[i].run = help
		}
	}
}

func help(_ context.Context, _ Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, c := range table {
		fmt.Fprintf(tw, "%s\t%s\n", c.Usage, c.Help)
	}
	return tw.Flush()
}

// Unknown is the error text for a command name that is none: it suggests
// the nearest one when there is one close enough.
func Unknown(name string) string {
	best, dist := "", 4 // suggest only within three edits
	for _, c := range table {
		if d := editDistance(name, c.Name); d < dist {
			best, dist = c.Name, d
		}
	}
	shown := slipway.OneLine(name, 40)
	if best != "" {
		return fmt.Sprintf("unknown command %q: did you mean %s? (help lists them all)", shown, best)
	}
	return fmt.Sprintf("unknown command %q: help lists them all", shown)
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	if len(a) > 64 {
		return 64 // no command is that long
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func maintenanceOn(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.SetMaintenance(ctx, name, true, out)
}

func maintenanceOff(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.SetMaintenance(ctx, name, false, out)
}

func psStop(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.Stop(ctx, name, out)
}

func psStart(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.StartStopped(ctx, name, out)
}

func run(ctx context.Context, a Apps, u string, args []string, in io.Reader, out io.Writer) error {
	if len(args) < 2 {
		return usageError(u)
	}
	name, words := args[0], args[1:]
	if err := slipway.ValidateAppName(name); err != nil {
		return err
	}
	if words[0] == "--" {
		words = words[1:]
	}
	if len(words) == 0 {
		return usageError(u)
	}
	// One word is a script for the shell ('echo $PORT && ls'); several
	// are the program and its arguments.
	argv := words
	if len(words) == 1 {
		argv = []string{"/bin/sh", "-c", words[0]}
	}
	return exitStatus(a.Run(ctx, name, argv, callerTerminal(ctx, in, out)))
}

// callerTerminal is the terminal of ctx's command (the ssh session's), or
// on the host, where the admin API runs it, its input and output.
func callerTerminal(ctx context.Context, in io.Reader, out io.Writer) slipway.Terminal {
	if t, ok := slipway.TerminalOf(ctx); ok {
		return t
	}
	return slipway.Terminal{Stdin: in, Stdout: out, Stderr: out}
}

// exitStatus passes an attached process's exit status through to the
// caller: run's and SERVICE:connect's.
func exitStatus(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return slipway.ExitStatus(code)
	}
	return nil
}

func runDetached(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) < 2 {
		return usageError(u)
	}
	name, words := args[0], args[1:]
	if words[0] == "--" {
		words = words[1:]
	}
	if len(words) == 0 {
		return usageError(u)
	}
	command := words[0]
	if len(words) > 1 {
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		command = strings.Join(quoted, " ")
	}
	id, err := a.RunDetached(ctx, name, command)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Started %s in the background: logs %s -p %s shows its output\n", id, name, id)
	return nil
}
