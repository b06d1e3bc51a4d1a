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
	"github.com/slipway/slipway/web"
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
	js := make([]web.ReleaseJSON, 0, len(rels))
	for _, r := range rels {
		js = append(js, web.NewReleaseJSON(r))
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
	_, err = a.Rollback(ctx, name, to, "ssh", out)
	return err
}

// WriteReleases prints the history as an aligned table, newest first, with
// the live release marked; or as JSON (the admin API's shape).
func WriteReleases(out io.Writer, rels []web.ReleaseJSON, asJSON bool, now time.Time) error {
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
