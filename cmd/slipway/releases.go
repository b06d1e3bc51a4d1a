package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/web"
)

// toJSON converts releases to the JSON API's shape.
func toJSON(rels []*slipway.Release) []web.ReleaseJSON {
	out := make([]web.ReleaseJSON, 0, len(rels))
	for _, r := range rels {
		out = append(out, web.NewReleaseJSON(r))
	}
	return out
}

// writeReleases prints the history as an aligned table, newest first, with
// the live release marked; or as JSON.
func writeReleases(out io.Writer, rels []web.ReleaseJSON, asJSON bool, now time.Time) error {
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
		commit := r.Commit
		if len(commit) > 7 {
			commit = commit[:7]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, status, r.Kind, commit,
			oneLine(r.Subject, 50), oneLine(r.Author, 40), age(now.Sub(r.CreatedAt)))
	}
	return tw.Flush()
}

// age is a duration as a short age: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
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

// parseVersion reads "v3" or "3".
func parseVersion(s string) (slipway.Version, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n < 1 {
		return 0, slipway.Errorf(slipway.EINVALID, "%q is not a release version: use vN, such as v3", s)
	}
	return slipway.Version(n), nil
}
