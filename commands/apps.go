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
)

func appsList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 0 {
		return usageError(u)
	}
	list, err := a.Apps(ctx)
	if err != nil {
		return err
	}
	key, byKey := slipway.CallerKey(ctx)
	shown := list[:0:0]
	for _, app := range list {
		if !byKey || key.May(app.Name) { // a key limited to other apps sees only its own
			shown = append(shown, app)
		}
	}
	if len(shown) == 0 {
		fmt.Fprintf(out, "No apps yet: git push ssh://git@HOST:2222/NAME main makes app NAME (or apps:create NAME)\n")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tLIVE\tINSTANCES\tDRAINING\tURL\tSTATE")
	for _, app := range shown {
		live := "-"
		if app.Live > 0 {
			live = app.Live.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", app.Name, live, instances(app), app.Draining, app.URL, app.State)
	}
	return tw.Flush()
}

func appsCreate(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	if err := a.Create(ctx, name); err != nil {
		return err
	}
	remote := a.GitRemote(name)
	fmt.Fprintf(out, "Created %s. To deploy it:\n  git remote add deploy %s\n  git push deploy main\n", name, remote)
	return nil
}

func appsRename(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	return a.Rename(ctx, args[0], args[1], out)
}

func appsDestroy(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 3 || args[1] != "--confirm" {
		return usageError(u)
	}
	name, err := oneApp(u, args[:1])
	if err != nil {
		return err
	}
	if args[2] != name {
		return slipway.Errorf(slipway.EINVALID, "--confirm %q does not match %q: type the app's name to destroy it", args[2], name)
	}
	if err := a.Destroy(ctx, name, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "Destroyed %s: its processes, repository, releases and history are gone\n", name)
	return nil
}

func appsInfo(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	rels, err := a.Releases(ctx, name)
	if err != nil {
		return err
	}
	list, err := a.Apps(ctx)
	if err != nil {
		return err
	}
	cfg, err := a.Config(ctx, name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "App:\t%s\n", name)
	for _, app := range list {
		if app.Name == name {
			fmt.Fprintf(tw, "URL:\t%s\n", app.URL)
			fmt.Fprintf(tw, "Web instances:\t%s\n", instances(app))
			fmt.Fprintf(tw, "Draining releases:\t%d\n", app.Draining)
		}
	}
	live := "none"
	for _, r := range rels {
		if r.Status == slipway.StatusLive {
			live = fmt.Sprintf("%s (%s, %s, live for %s)", r.Version, slipway.ShortSHA(r.Commit, 7), slipway.OneLine(r.Subject, 50), Age(time.Since(r.StartedAt)))
			break
		}
	}
	fmt.Fprintf(tw, "Live release:\t%s\n", live)
	fmt.Fprintf(tw, "Releases:\t%d\n", len(rels))
	fmt.Fprintf(tw, "Config vars:\t%d\n", len(cfg))
	if names, err := a.Domains(ctx, name); err == nil {
		fmt.Fprintf(tw, "Domains:\t%s\n", strings.Join(names, " "))
	}
	if iso := a.Isolation(); iso != "" {
		fmt.Fprintf(tw, "Isolation:\t%s\n", iso)
	}
	if disk := a.DiskUsage(name); disk != "" {
		fmt.Fprintf(tw, "Disk:\t%s\n", disk)
	}
	if d, err := a.App(ctx, name); err == nil && d != nil && d.Autosleep != "" {
		sleeping := "awake"
		if !d.SleepingSince.IsZero() {
			sleeping = "sleeping since " + Age(time.Since(d.SleepingSince)) + " ago"
		}
		fmt.Fprintf(tw, "Autosleep:\tafter %s without a request (%s)\n", d.Autosleep, sleeping)
	}
	if d, err := a.App(ctx, name); err == nil && d != nil && len(d.Services) > 0 {
		var linked []string
		for _, l := range d.Services {
			linked = append(linked, fmt.Sprintf("%s (%s, %s) as %s", l.Name, l.Kind, l.State, l.Var))
		}
		fmt.Fprintf(tw, "Services:\t%s\n", strings.Join(linked, ", "))
	}
	return tw.Flush()
}

// instances shows an app's web instances with what is not up.
func instances(app slipway.AppSummary) string {
	s := strconv.Itoa(app.Instances)
	switch {
	case app.CrashLoop:
		s += " (crash loop)"
	case app.Crashed > 0:
		s += fmt.Sprintf(" (%d crashed)", app.Crashed)
	}
	return s
}
