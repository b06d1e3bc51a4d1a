package main

import (
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/termsafe"
	"github.com/slipway/slipway/web"
)

// clientFlags adds the flags that find the admin API: --admin-addr and
// --admin-token, with SLIPWAY_ADMIN_ADDR and SLIPWAY_ADMIN_TOKEN, and
// --data to read the token slipway generated. Without an address given,
// the API is reached over DATA/run/admin.sock when it is there (no TCP
// flood reaches it), else at the default address.
func clientFlags(fs *flag.FlagSet) func() (*web.Client, error) {
	addr := fs.String("admin-addr", os.Getenv("SLIPWAY_ADMIN_ADDR"), "admin address of the running slipway (env SLIPWAY_ADMIN_ADDR; default: DATA/run/admin.sock when there, else "+web.DefaultAddr+")")
	token := fs.String("admin-token", os.Getenv("SLIPWAY_ADMIN_TOKEN"), "admin token (env SLIPWAY_ADMIN_TOKEN; default: read from DATA/admin_token)")
	data := fs.String("data", envOr("SLIPWAY_DATA", DefaultDataDir), "slipway's data dir, to read the admin token from (env SLIPWAY_DATA)")
	return func() (*web.Client, error) {
		t := *token
		if t == "" {
			b, err := os.ReadFile(filepath.Join(*data, "admin_token"))
			if err != nil {
				return nil, fmt.Errorf("no admin token: pass --admin-token or set SLIPWAY_ADMIN_TOKEN (slipway printed it at first start and keeps it in DATA/admin_token)")
			}
			t = strings.TrimSpace(string(b))
		}
		a := *addr
		if a == "" {
			sock := slipway.Layout{Root: *data}.AdminSocket()
			if fi, err := os.Stat(sock); sock != "" && err == nil && fi.Mode().Type() == iofs.ModeSocket {
				return &web.Client{Socket: sock, Token: t, HTTP: web.UnixClient(sock, 5*time.Minute)}, nil
			}
			a = web.DefaultAddr
		}
		if strings.HasPrefix(a, ":") {
			a = "127.0.0.1" + a
		}
		return &web.Client{Addr: a, Token: t, HTTP: &http.Client{Timeout: 5 * time.Minute}}, nil
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
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
	if len(pos) > 0 {
		if err := slipway.ValidateAppName(pos[0]); err != nil {
			return nil, cliFail(err)
		}
	}
	return pos, -1
}

func cliFail(err error) int {
	fmt.Fprintf(os.Stderr, "slipway: %s\n", termsafe.Clean(err.Error()))
	return 1
}
