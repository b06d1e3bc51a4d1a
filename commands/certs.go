package commands

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
)

func certsList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	list, err := a.Certificates(ctx, name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSOURCE\tISSUER\tEXPIRES\tSTATE")
	for _, st := range list {
		source, issuer, expires := st.Source, slipway.OneLine(st.Issuer, 40), "-"
		if source == "" {
			source = "-"
		}
		if issuer == "" {
			issuer = "-"
		}
		if !st.Expires.IsZero() {
			expires = st.Expires.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Domain, source, issuer, expires, slipway.OneLine(st.State, 200))
	}
	return tw.Flush()
}

func certsAdd(ctx context.Context, a Apps, u string, args []string, in io.Reader, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	if in == nil {
		return usageError(u)
	}
	return a.AddCertificate(ctx, name, in, out)
}

func certsRemove(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	return a.RemoveCertificate(ctx, name, out)
}

func certsRedirect(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		return usageError(u)
	}
	if err := slipway.ValidateAppName(args[0]); err != nil {
		return err
	}
	return a.SetRedirect(ctx, args[0], args[1] == "on", out)
}
