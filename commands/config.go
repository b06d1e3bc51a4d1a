package commands

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipway/slipway"
)

func config(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	args, reveal := cutFlag(args, "--reveal")
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	cfg, err := a.Config(ctx, name)
	if err != nil {
		return err
	}
	// What the live release runs with: a var stored since (--no-restart,
	// or while the app was stopped) is pending until a release takes it.
	var live map[string]string
	if rels, err := a.Releases(ctx, name); err == nil {
		for _, r := range rels {
			if r.Status == slipway.StatusLive {
				live = r.Config
			}
		}
	}
	keys := slices.Sorted(maps.Keys(cfg))
	for k := range live {
		if _, ok := cfg[k]; !ok {
			keys = append(keys, k) // removed, still live
		}
	}
	if len(keys) == 0 {
		fmt.Fprintf(out, "%s has no config vars\n", name)
		return nil
	}
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for _, k := range keys {
		v, set := cfg[k]
		shown := "********"
		if reveal {
			shown = v
		}
		note := ""
		old, inLive := live[k]
		switch {
		case live == nil:
		case !set:
			shown, note = "", "(unset, pending: the live release still has it)"
		case !inLive || old != v:
			note = "  (pending: the next release takes it)"
		}
		fmt.Fprintf(out, "%-*s  %s%s\n", width+1, k+":", shown, note)
	}
	return nil
}

func configGet(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 {
		return usageError(u)
	}
	name, err := oneApp(u, args[:1])
	if err != nil {
		return err
	}
	cfg, err := a.Config(ctx, name)
	if err != nil {
		return err
	}
	v, ok := cfg[args[1]]
	if !ok {
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no config var %q (see: config %s)", name, args[1], name)
	}
	_, err = fmt.Fprintln(out, v)
	return err
}

func configSet(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	return changeConfig(ctx, a, u, args, out, func(kvs []string) (map[string]string, []string, error) {
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
}

func configUnset(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	return changeConfig(ctx, a, u, args, out, func(keys []string) (map[string]string, []string, error) {
		for _, k := range keys {
			if err := slipway.ValidateConfigKey(k); err != nil {
				return nil, nil, err
			}
		}
		return nil, keys, nil
	})
}

// changeConfig parses NAME [--no-restart] ARGS… of the command with usage u
// and applies the result.
func changeConfig(ctx context.Context, a Apps, u string, args []string, out io.Writer, parse func([]string) (map[string]string, []string, error)) error {
	args, noRestart := cutFlag(args, "--no-restart")
	if len(args) < 2 {
		return usageError(u)
	}
	app, err := oneApp(u, args[:1])
	if err != nil {
		return err
	}
	set, unset, err := parse(args[1:])
	if err != nil {
		return err
	}
	_, err = a.SetConfig(ctx, app, set, unset, noRestart, out)
	return err
}
