package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway/slipway"
)

// The deploy webhooks' commands (webhook.go in the domain). They act on
// the app their first word names, so a key limited to that app may run
// them.
var webhookCommands = []Command{
	{"webhooks", "webhooks NAME", "the app's webhooks: URL, events and the last deliveries (time, event, status, attempts)", webhooksList, nil},
	{"webhooks:add", "webhooks:add NAME URL [--events deploy,rollback,crash,config] [--secret SECRET]", "POST the app's events to URL as signed JSON (X-Hub-Signature-256); prints the secret it makes, once", webhooksAdd, nil},
	{"webhooks:remove", "webhooks:remove NAME URL", "stop sending the app's events to URL", webhooksRemove, nil},
}

// maxDeliveriesShown is how many deliveries webhooks NAME shows of each.
const maxDeliveriesShown = 10

func webhooksList(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	name, err := oneApp(u, args)
	if err != nil {
		return err
	}
	hooks, err := a.Webhooks(ctx, name)
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		_, err := fmt.Fprintf(out, "%s has no webhooks: webhooks:add %s URL adds one\n", name, name)
		return err
	}
	for i, h := range hooks {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "%s\n  events: %s\n  secret: ******** (shown once, by webhooks:add)\n  added:  %s\n",
			slipway.OneLine(h.URL, slipway.MaxWebhookURLLen), strings.Join(h.Events, ","), h.Created.UTC().Format(time.DateTime+"Z"))
		if len(h.Deliveries) == 0 {
			fmt.Fprintln(out, "  no deliveries yet")
			continue
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  AT\tEVENT\tRELEASE\tSTATUS\tATTEMPTS\tTOOK\tDELIVERY")
		for _, d := range h.Deliveries[:min(len(h.Deliveries), maxDeliveriesShown)] {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.At.UTC().Format(time.DateTime+"Z"), d.Event, dash(d.Release),
				deliveryStatus(d), d.Attempts, d.Duration.Round(time.Millisecond), d.ID)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// deliveryStatus is "200", "503", or why no status came: "error:
// connection refused".
func deliveryStatus(d slipway.WebhookDelivery) string {
	switch {
	case d.Error == "":
		return fmt.Sprint(d.StatusCode)
	case d.StatusCode == 0:
		return "error: " + slipway.OneLine(d.Error, 100)
	}
	return fmt.Sprintf("%d: %s", d.StatusCode, slipway.OneLine(d.Error, 100))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func webhooksAdd(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	var words []string
	var events, secret string
	for i := 0; i < len(args); i++ {
		flag, value, inline := strings.Cut(args[i], "=")
		if flag != "--events" && flag != "--secret" {
			if strings.HasPrefix(args[i], "-") {
				return slipway.Errorf(slipway.EINVALID, "unknown flag %q (usage: %s)", slipway.OneLine(flag, 40), u)
			}
			words = append(words, args[i])
			continue
		}
		if !inline {
			if i+1 == len(args) {
				return slipway.Errorf(slipway.EINVALID, "%s needs a value (usage: %s)", flag, u)
			}
			value, i = args[i+1], i+1
		}
		if flag == "--events" {
			events = value
		} else if secret = value; secret == "" {
			return slipway.Errorf(slipway.EINVALID, "--secret is empty: leave it out and slipway makes one")
		}
	}
	if len(words) != 2 {
		return usageError(u)
	}
	name, url := words[0], words[1]
	if err := slipway.ValidateAppName(name); err != nil {
		return err
	}
	kinds, err := slipway.ParseWebhookEvents(events)
	if err != nil {
		return err
	}
	h, err := a.AddWebhook(ctx, name, url, kinds, secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Added a webhook to %s: %s's %s events are POSTed there\n", h.URL, name, strings.Join(h.Events, ", "))
	if secret != "" {
		_, err = fmt.Fprintln(out, "Each delivery is signed with the secret you gave (X-Hub-Signature-256)")
		return err
	}
	_, err = fmt.Fprintf(out, "Each delivery is signed with this secret (X-Hub-Signature-256: sha256=HMAC-SHA256 of the body);\n"+
		"it is shown this once, keep it where the receiver reads it:\n%s\n", h.Secret)
	return err
}

func webhooksRemove(ctx context.Context, a Apps, u string, args []string, out io.Writer) error {
	if len(args) != 2 || strings.HasPrefix(args[1], "-") {
		return usageError(u)
	}
	name, url := args[0], args[1]
	if err := slipway.ValidateAppName(name); err != nil {
		return err
	}
	if err := a.RemoveWebhook(ctx, name, url); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "Removed the webhook to %s from %s\n", slipway.OneLine(url, slipway.MaxWebhookURLLen), name)
	return err
}
