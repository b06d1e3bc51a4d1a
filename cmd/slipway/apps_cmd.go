package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/releaser"
)

// appsCommands are apps:list, apps:create, apps:destroy and apps:info.
func appsCommands(rel *releaser.Releaser, be *backend, repoDir func(string) string) map[string]gitserver.CommandFunc {
	return map[string]gitserver.CommandFunc{
		"apps:list": func(ctx context.Context, args []string, out io.Writer) error {
			if len(args) != 0 {
				return usageError("apps:list")
			}
			apps, err := be.Apps(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tLIVE\tINSTANCES\tDRAINING\tURL")
			for _, a := range apps {
				live := "-"
				if a.Live > 0 {
					live = a.Live.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", a.Name, live, a.Instances, a.Draining, a.URL)
			}
			return tw.Flush()
		},
		"apps:create": func(ctx context.Context, args []string, out io.Writer) error {
			name, err := oneApp("apps:create NAME", args)
			if err != nil {
				return err
			}
			if err := be.store.CreateApp(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(out, "Created %s: git push ssh://git@HOST:PORT/%s main to deploy it\n", name, name)
			return nil
		},
		"apps:destroy": func(ctx context.Context, args []string, out io.Writer) error {
			const usage = "apps:destroy NAME --confirm NAME"
			if len(args) != 3 || args[1] != "--confirm" {
				return usageError(usage)
			}
			name, err := oneApp(usage, args[:1])
			if err != nil {
				return err
			}
			if args[2] != name {
				return slipway.Errorf(slipway.EINVALID, "--confirm %q does not match %q: type the app's name to destroy it", args[2], name)
			}
			unlock, err := rel.Lock(ctx, name, out)
			if err != nil {
				return err
			}
			defer unlock()
			if err := rel.Destroy(ctx, name, builder.Remove); err != nil {
				return err
			}
			if err := os.RemoveAll(repoDir(name)); err != nil {
				return err
			}
			fmt.Fprintf(out, "Destroyed %s: its processes, repository, releases and history are gone\n", name)
			return nil
		},
		"apps:info": func(ctx context.Context, args []string, out io.Writer) error {
			name, err := oneApp("apps:info NAME", args)
			if err != nil {
				return err
			}
			rels, err := be.Releases(ctx, name)
			if err != nil {
				return err
			}
			apps, err := be.Apps(ctx)
			if err != nil {
				return err
			}
			cfg, err := be.store.AppConfig(ctx, name)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "App:\t%s\n", name)
			for _, a := range apps {
				if a.Name == name {
					fmt.Fprintf(tw, "URL:\t%s\n", a.URL)
					fmt.Fprintf(tw, "Web instances:\t%d\n", a.Instances)
					fmt.Fprintf(tw, "Draining releases:\t%d\n", a.Draining)
				}
			}
			live := "none"
			for _, r := range rels {
				if r.Status == slipway.StatusLive {
					live = fmt.Sprintf("%s (%s, %s, live for %s)", r.Version, short(r.Commit), oneLine(r.Subject, 50), age(time.Since(r.StartedAt)))
					break
				}
			}
			fmt.Fprintf(tw, "Live release:\t%s\n", live)
			fmt.Fprintf(tw, "Releases:\t%d\n", len(rels))
			fmt.Fprintf(tw, "Config vars:\t%d\n", len(cfg))
			return tw.Flush()
		},
	}
}

// short returns the first 7 characters of a commit id.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
