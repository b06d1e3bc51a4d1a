package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
)

func releases(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	asJSON := len(args) > 0 && args[len(args)-1] == "--json"
	if asJSON {
		args = args[:len(args)-1]
	}
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	rels, err := a.Releases(ctx, name)
	if err != nil {
		return err
	}
	js := make([]slipway.ReleaseJSON, 0, len(rels))
	for _, r := range rels {
		js = append(js, slipway.NewReleaseJSON(r))
	}
	return WriteReleases(out, js, asJSON, time.Now())
}

func rollback(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return usageError(u)
	}
	name, err := oneApp(u, args[:1])
	if err != nil {
		return err
	}
	var to slipway.Version
	if len(args) == 2 {
		if to, err = slipway.ParseVersion(args[1]); err != nil {
			return err
		}
	}
	_, err = a.Rollback(ctx, name, to, out)
	return err
}

// WriteReleases prints the history as an aligned table, newest first, with
// the live release marked; or as JSON (the admin API's shape).
func WriteReleases(out io.Writer, rels []slipway.ReleaseJSON, asJSON bool, now time.Time) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rels)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tVERSION\tSTATUS\tKIND\tCOMMIT\tSUBJECT\tAUTHOR\tAGE")
	for _, r := range rels {
		mark := ""
		if r.Live {
			mark = "*"
		}
		status := r.Status
		if r.Pruned {
			status += " (pruned)"
		}
		if r.Note != "" {
			status += " (" + r.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, status, r.Kind, slipway.ShortSHA(r.Commit, 7),
			slipway.OneLine(r.Subject, 50), slipway.OneLine(r.Author, 40), Age(now.Sub(r.CreatedAt)))
	}
	return tw.Flush()
}

// Age is a duration as a short age: 45s, 12m, 5h, 3d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// appAndVersion parses NAME vN.
func appAndVersion(u string, args []string) (string, slipway.Version, error) {
	if len(args) != 2 {
		return "", 0, usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return "", 0, err
	}
	v, err := slipway.ParseVersion(args[1])
	if err != nil {
		return "", 0, err
	}
	return args[0], v, nil
}

func releasesInfo(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	asJSON := len(args) > 0 && args[len(args)-1] == "--json"
	if asJSON {
		args = args[:len(args)-1]
	}
	name, v, err := appAndVersion(u, args)
	if err != nil {
		return err
	}
	r, err := a.Release(ctx, name, v)
	if err != nil {
		return err
	}
	js := slipway.NewReleaseJSON(r)
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(js)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, slipway.OneLine(v, 200))
		}
	}
	row("Release", js.Name+" of "+name)
	row("Kind", js.Kind)
	row("Status", js.Status)
	row("Commit", js.Commit)
	row("Subject", js.Subject)
	row("Author", js.Author)
	row("Pusher", js.Pusher)
	row("Created", js.CreatedAt.UTC().Format(time.RFC3339))
	if !js.StartedAt.IsZero() {
		row("Live from", js.StartedAt.UTC().Format(time.RFC3339))
	}
	if !js.FinishedAt.IsZero() {
		row("Finished", js.FinishedAt.UTC().Format(time.RFC3339))
	}
	if js.BuildDurationMS > 0 {
		row("Build", (time.Duration(js.BuildDurationMS) * time.Millisecond).String())
	}
	if js.RollbackOf != nil {
		row("Rollback of", slipway.Version(*js.RollbackOf).String())
	}
	row("Failure", js.Failure)
	if js.Pruned {
		row("Directory", "pruned")
	}
	return tw.Flush()
}

func releasesLog(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, v, err := appAndVersion(u, args)
	if err != nil {
		return err
	}
	log, err := a.BuildLog(ctx, name, v)
	if err != nil {
		return err
	}
	// Build output is the app's: it must not drive the reader's terminal.
	safe := termsafe.NewWriter(out)
	if _, err := safe.Write(log); err != nil {
		return err
	}
	return safe.Flush()
}

func releasesRetire(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, v, err := appAndVersion(u, args)
	if err != nil {
		return err
	}
	return a.RetireRelease(ctx, name, v, out)
}
