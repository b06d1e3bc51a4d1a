package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/web"
)

// runRollback is `slipway rollback NAME [vN]`.
func runRollback(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("slipway rollback", flag.ContinueOnError)
	client := clientFlags(fs)
	pos, code := parseClientArgs(fs, args, "rollback NAME [vN]", 1, 2)
	if code >= 0 {
		return code
	}
	body := map[string]any{}
	if len(pos) == 2 {
		v, err := slipway.ParseVersion(pos[1])
		if err != nil {
			return cliFail(err)
		}
		body["version"] = int(v)
	}
	c, err := client()
	if err != nil {
		return cliFail(err)
	}
	start := time.Now()
	var rel web.ReleaseJSON
	if err := c.JSON(ctx, http.MethodPost, "/api/apps/"+pos[0]+"/rollback", body, &rel); err != nil {
		return cliFail(err)
	}
	to := "the previous release"
	if rel.RollbackOf != nil {
		to = slipway.Version(*rel.RollbackOf).String()
	}
	fmt.Printf("Rolled back %s to %s: %s is live (%s)\n", pos[0], to, rel.Name, time.Since(start).Round(time.Millisecond))
	return 0
}
