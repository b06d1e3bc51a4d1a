package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/gitserver"
	"github.com/slipway/slipway/releaser"
)

// configCommands are config, config:get, config:set and config:unset.
func configCommands(rel *releaser.Releaser, store releaser.Store) map[string]gitserver.CommandFunc {
	// change parses NAME [--no-restart] ARGS… with parse and applies the
	// result under the app's deploy lock.
	change := func(ctx context.Context, usage string, args []string, out io.Writer, parse func([]string) (map[string]string, []string, error)) error {
		args, noRestart := cutFlag(args, "--no-restart")
		if len(args) < 2 {
			return usageError(usage)
		}
		name, err := oneApp(usage, args[:1])
		if err != nil {
			return err
		}
		set, unset, err := parse(args[1:])
		if err != nil {
			return err
		}
		unlock, err := rel.Lock(ctx, name, out)
		if err != nil {
			return err
		}
		defer unlock()
		_, err = rel.SetConfig(ctx, name, set, unset, noRestart, slipway.Release{PusherComment: "ssh"}, out)
		return err
	}
	return map[string]gitserver.CommandFunc{
		"config": func(ctx context.Context, args []string, out io.Writer) error {
			const usage = "config NAME [--reveal]"
			args, reveal := cutFlag(args, "--reveal")
			name, err := oneApp(usage, args)
			if err != nil {
				return err
			}
			cfg, err := store.AppConfig(ctx, name)
			if err != nil {
				return err
			}
			if len(cfg) == 0 {
				fmt.Fprintf(out, "%s has no config vars\n", name)
				return nil
			}
			width := 0
			for k := range cfg {
				width = max(width, len(k))
			}
			for _, k := range slices.Sorted(maps.Keys(cfg)) {
				v := "********"
				if reveal {
					v = cfg[k]
				}
				fmt.Fprintf(out, "%-*s  %s\n", width+1, k+":", v)
			}
			return nil
		},
		"config:get": func(ctx context.Context, args []string, out io.Writer) error {
			const usage = "config:get NAME KEY"
			if len(args) != 2 {
				return usageError(usage)
			}
			name, err := oneApp(usage, args[:1])
			if err != nil {
				return err
			}
			cfg, err := store.AppConfig(ctx, name)
			if err != nil {
				return err
			}
			v, ok := cfg[args[1]]
			if !ok {
				return slipway.Errorf(slipway.ENOTFOUND, "%s has no config var %q (see: config %s)", name, args[1], name)
			}
			_, err = fmt.Fprintln(out, v)
			return err
		},
		"config:set": func(ctx context.Context, args []string, out io.Writer) error {
			return change(ctx, "config:set NAME [--no-restart] KEY=VALUE...", args, out, func(kvs []string) (map[string]string, []string, error) {
				set := map[string]string{}
				for _, kv := range kvs {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return nil, nil, slipway.Errorf(slipway.EINVALID, "%q: want KEY=VALUE (quote values with spaces: 'KEY=a b')", kv)
					}
					if err := slipway.ValidateConfigKey(k); err != nil {
						return nil, nil, err
					}
					set[k] = v
				}
				return set, nil, nil
			})
		},
		"config:unset": func(ctx context.Context, args []string, out io.Writer) error {
			return change(ctx, "config:unset NAME [--no-restart] KEY...", args, out, func(keys []string) (map[string]string, []string, error) {
				for _, k := range keys {
					if err := slipway.ValidateConfigKey(k); err != nil {
						return nil, nil, err
					}
				}
				return nil, keys, nil
			})
		},
	}
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
