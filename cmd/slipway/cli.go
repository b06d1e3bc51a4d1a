package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/web"
)

// adminClient talks to a running slipway's admin API, for the local
// `slipway releases` and `slipway rollback` commands.
type adminClient struct {
	addr  string
	token string
	http  *http.Client
}

// clientFlags adds the flags that find the admin API: --admin-addr and
// --admin-token, with SLIPWAY_ADMIN_ADDR and SLIPWAY_ADMIN_TOKEN, and
// --data to read the token slipway generated.
func clientFlags(fs *flag.FlagSet) func() (*adminClient, error) {
	addr := fs.String("admin-addr", envOr("SLIPWAY_ADMIN_ADDR", web.DefaultAddr), "admin address of the running slipway (env SLIPWAY_ADMIN_ADDR)")
	token := fs.String("admin-token", os.Getenv("SLIPWAY_ADMIN_TOKEN"), "admin token (env SLIPWAY_ADMIN_TOKEN; default: read from DATA/admin_token)")
	data := fs.String("data", envOr("SLIPWAY_DATA", DefaultDataDir), "slipway's data dir, to read the admin token from (env SLIPWAY_DATA)")
	return func() (*adminClient, error) {
		t := *token
		if t == "" {
			b, err := os.ReadFile(filepath.Join(*data, "admin_token"))
			if err != nil {
				return nil, fmt.Errorf("no admin token: pass --admin-token or set SLIPWAY_ADMIN_TOKEN (slipway printed it at first start and keeps it in DATA/admin_token)")
			}
			t = strings.TrimSpace(string(b))
		}
		a := *addr
		if strings.HasPrefix(a, ":") {
			a = "127.0.0.1" + a
		}
		return &adminClient{addr: a, token: t, http: &http.Client{Timeout: 5 * time.Minute}}, nil
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// do sends a request to the admin API and decodes a JSON answer into out.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach slipway's admin API at %s: is slipway serve running? (--admin-addr)", c.addr)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("admin API answered %s", resp.Status)
	}
	return json.Unmarshal(data, out)
}

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
	if err := c.do(ctx, http.MethodGet, "/api/apps/"+name[0]+"/releases", nil, &rels); err != nil {
		return cliFail(err)
	}
	if err := writeReleases(os.Stdout, rels, *asJSON, time.Now()); err != nil {
		return cliFail(err)
	}
	return 0
}

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
		v, err := parseVersion(pos[1])
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
	if err := c.do(ctx, http.MethodPost, "/api/apps/"+pos[0]+"/rollback", body, &rel); err != nil {
		return cliFail(err)
	}
	to := "the previous release"
	if rel.RollbackOf != nil {
		to = slipway.Version(*rel.RollbackOf).String()
	}
	fmt.Printf("Rolled back %s to %s: %s is live (%s)\n", pos[0], to, rel.Name, time.Since(start).Round(time.Millisecond))
	return 0
}

// parseClientArgs parses flags, which may come before or after the
// positional arguments, and checks their count and the app name. It
// returns an exit code >= 0 when the command should stop.
func parseClientArgs(fs *flag.FlagSet, args []string, usage string, min, max int) ([]string, int) {
	fs.SetOutput(os.Stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0
			}
			return nil, 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min || len(pos) > max {
		fmt.Fprintf(os.Stderr, "slipway: usage: slipway %s\n", usage)
		return nil, 2
	}
	if err := slipway.ValidateAppName(pos[0]); err != nil {
		return nil, cliFail(err)
	}
	return pos, -1
}

func cliFail(err error) int {
	fmt.Fprintf(os.Stderr, "slipway: %s\n", err)
	return 1
}

// runRemote is `slipway COMMAND ARGS…` for the management commands
// (apps:list, config:set, logs, ps:scale, …): it runs the command in the
// slipway serving on this host through the admin API, found with
// SLIPWAY_ADMIN_ADDR, SLIPWAY_ADMIN_TOKEN and SLIPWAY_DATA, and streams the
// output.
func runRemote(ctx context.Context, name string, args []string) int {
	fs := flag.NewFlagSet("slipway "+name, flag.ContinueOnError)
	client, err := clientFlags(fs)()
	if err != nil {
		return cliFail(err)
	}
	client.http.Timeout = 0 // logs -t follows until interrupted
	body, _ := json.Marshal(map[string]any{"args": args})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+client.addr+"/api/commands/"+name, bytes.NewReader(body))
	if err != nil {
		return cliFail(err)
	}
	req.Header.Set("Authorization", "Bearer "+client.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return cliFail(fmt.Errorf("cannot reach slipway's admin API at %s: is slipway serve running? (SLIPWAY_ADMIN_ADDR)", client.addr))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return cliFail(errors.New(e.Error))
		}
		return cliFail(fmt.Errorf("admin API answered %s", resp.Status))
	}
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil && ctx.Err() != nil {
		return 0
	}
	if resp.Trailer.Get(web.TrailerExit) != "0" {
		msg := resp.Trailer.Get(web.TrailerError)
		if msg == "" {
			msg = "the command did not finish"
		}
		return cliFail(errors.New(msg))
	}
	return 0
}
