package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/slipway/slipway"
)

func domains(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	list, err := a.Domains(ctx, name)
	if err != nil {
		return err
	}
	for i, d := range list {
		if i == 0 {
			fmt.Fprintf(out, "%s (default)\n", d)
			continue
		}
		fmt.Fprintln(out, d)
	}
	return nil
}

// appAndDomains parses NAME DOMAIN....
func appAndDomains(u string, args []string) (string, []string, error) {
	if len(args) < 2 {
		return "", nil, usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return "", nil, err
	}
	return args[0], args[1:], nil
}

func domainsAdd(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, list, err := appAndDomains(u, args)
	if err != nil {
		return err
	}
	return a.AddDomains(ctx, name, list, out)
}

func domainsRemove(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, list, err := appAndDomains(u, args)
	if err != nil {
		return err
	}
	return a.RemoveDomains(ctx, name, list, out)
}

func domainsClear(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.ClearDomains(ctx, name, out)
}
