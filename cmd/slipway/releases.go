package main

import (
	"context"
	"flag"
	"net/http"
	"os"
	"time"

	"github.com/slipway/slipway/commands"
	"github.com/slipway/slipway/web"
)

// runReleases is `slipway releases NAME [--json]`.
func runReleases(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("slipway releases", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	client := clientFlags(fs)
	name, code := parseClientArgs(fs, args, "releases NAME [--json]", 1, 1)
	if code >= 0 {
		return code
	}
	c, err := client()
	if err != nil {
		return cliFail(err)
	}
	var rels []web.ReleaseJSON
	if err := c.JSON(ctx, http.MethodGet, "/api/apps/"+name[0]+"/releases", nil, &rels); err != nil {
		return cliFail(err)
	}
	if err := commands.WriteReleases(os.Stdout, rels, *asJSON, time.Now()); err != nil {
		return cliFail(err)
	}
	return 0
}
