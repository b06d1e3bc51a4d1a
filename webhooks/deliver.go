package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/slipway/slipway"
)

// maxAnswer is how much of an answer's body is read (and thrown away),
// so that its connection can serve the next delivery.
const maxAnswer = 64 << 10

// deliver POSTs body, ev's JSON, to h until an attempt is answered with
// 2xx, or one is refused for good, or the attempts are used up, or
// Shutdown (which lets an attempt finish but starts no retry); then it
// records the delivery.
func (n *Notifier) deliver(h slipway.Webhook, ev slipway.WebhookEvent, body []byte) {
	d := slipway.WebhookDelivery{ID: newDeliveryID(), At: time.Now().UTC(), Event: ev.Event, Release: ev.Release}
	log := n.logger.With("app", h.App, "webhook", h.ID, "to", slipway.RedactURL(h.URL), "event", ev.Event, "delivery", d.ID)
	start := time.Now()
attempts:
	for {
		d.Attempts++
		code, err := n.post(h, d.ID, ev.Event, body)
		d.StatusCode, d.Error = code, n.describe(code, err)
		if !retry(code, err) || d.Attempts >= n.cfg.Attempts {
			break
		}
		wait := n.cfg.Backoff(d.Attempts)
		log.Info("webhook delivery failed: retrying", "attempt", d.Attempts, "status", code, "err", d.Error, "in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.stopping:
			t.Stop()
			d.Error = joinText(d.Error, "not retried: slipway stopped")
			break attempts
		}
	}
	d.Duration = time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.cfg.Store.AddWebhookDelivery(ctx, h.ID, d); err != nil {
		log.Error("webhooks: record a delivery", "err", err)
	}
	took := d.Duration.Round(time.Millisecond).String()
	if d.OK() {
		log.Info("webhook delivered", "status", d.StatusCode, "attempts", d.Attempts, "took", took)
		return
	}
	log.Warn("webhook not delivered", "status", d.StatusCode, "err", d.Error, "attempts", d.Attempts, "took", took)
}

// post makes one attempt and returns the answer's status.
func (n *Notifier) post(h slipway.Webhook, id, event string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slipway")
	req.Header.Set("X-Slipway-Event", event)
	req.Header.Set("X-Slipway-Delivery", id)
	req.Header.Set(SignatureHeader, Sign(h.Secret, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// retry reports whether an attempt's outcome may change on a later one:
// no answer, a server's error, 408 or 429. Any other status is the
// receiver's word (a 404, a 401 for a signature it refuses, a redirect).
func retry(code int, err error) bool {
	return err != nil || code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// describe says in a line why an attempt failed when its status does not
// say it all; "" for a 2xx. The URL is left out of it: its path or query
// may hold a token.
func (n *Notifier) describe(code int, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case err == nil && code >= 300 && code < 400:
		return "a redirect, not followed: give the URL it leads to"
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", n.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return "slipway stopped before an answer came"
	}
	return slipway.OneLine(err.Error(), 300)
}

// joinText joins two descriptions with "; ".
func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
