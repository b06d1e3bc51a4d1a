package releaser

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/supervisor"
)

// target is a started process and the port it should answer on.
type target struct {
	p    *supervisor.Process
	port int
}

// addr is where the router and the checks reach the target.
func (t target) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(t.port)) }

// healthClient is shared by all checks; checks never reuse a connection so
// that a check proves the instance accepts new ones.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is an answer
	},
}

// checkHealth decides whether a freshly started instance may take traffic.
// It first waits, polling fast, until the instance accepts TCP on its port,
// then runs the app.json startup checks, or by default GET / answered with a
// status below 500. ctx carries the deploy timeout. The returned error is
// one line for the pusher and wraps slipway.ErrHealthCheck.
func checkHealth(ctx context.Context, in target, checks []slipway.Healthcheck, out io.Writer) error {
	if err := waitListening(ctx, in, true); err != nil {
		return err
	}
	if len(checks) == 0 {
		return pollUntil(ctx, in, func(ctx context.Context) error {
			return probe(ctx, in.port, slipway.Healthcheck{Path: "/"}, 499)
		})
	}
	for _, c := range checks {
		c = c.Defaults()
		if c.Type == "liveness" {
			continue // liveness checks watch a live instance; they do not gate a deploy
		}
		if err := runCheck(ctx, in, c, out); err != nil {
			return err
		}
	}
	return nil
}

// waitListening polls, from 2 ms up to every 10 ms, until the instance's
// port accepts a connection, the process exits, or ctx is done. With
// owned, the listener must be the instance's own, not a process that took
// the port over (a look through /proc that costs a few milliseconds: done
// for every new process, not for a warm pool whose instances were checked
// when they started).
func waitListening(ctx context.Context, in target, owned bool) error {
	return pollUntil(ctx, in, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", in.addr())
		if err != nil {
			return fmt.Errorf("nothing listens on PORT=%d", in.port)
		}
		c.Close()
		if !owned {
			return nil
		}
		if ok, err := in.p.OwnsListener(in.port); err != nil || !ok {
			return fmt.Errorf("PORT=%d answers, but from a process that is not %s's", in.port, in.p.ID())
		}
		return nil
	})
}

// pollUntil calls try with a growing pause until it succeeds. It gives up
// when the process exits or ctx is done, reporting try's last error. The
// pause stays short: a start is on the critical path of a deploy, a wake
// and a rollback, and a dial to a port on loopback that refuses costs
// microseconds, where a pause grown to 200 ms cost up to that much after
// the app was ready (and one grown to 25 ms, 12 ms on average).
func pollUntil(ctx context.Context, in target, try func(context.Context) error) error {
	pause := 2 * time.Millisecond
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-in.p.Exited():
			t.Stop()
			return fmt.Errorf("%w: %s %s before it answered", slipway.ErrHealthCheck, in.p.ID(), in.p.ExitText())
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s: %v (gave up when the deploy timed out)", slipway.ErrHealthCheck, in.p.ID(), err)
		case <-t.C:
		}
		pause = min(pause*3/2, 10*time.Millisecond)
	}
}

// runCheck runs one app.json check the way Dokku does: wait initialDelay,
// then up to attempts tries, each with its timeout, wait seconds apart.
func runCheck(ctx context.Context, in target, c slipway.Healthcheck, out io.Writer) error {
	name := c.Name
	if name == "" {
		name = c.Path
	}
	if err := sleep(ctx, in, time.Duration(c.InitialDelay)*time.Second); err != nil {
		return err
	}
	var last error
	for attempt := 1; attempt <= c.Attempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, time.Duration(c.Timeout)*time.Second)
		last = probe(actx, in.port, c, 399)
		cancel()
		if last == nil {
			fmt.Fprintf(out, "       %s: check %q passed\n", in.p.ID(), name)
			return nil
		}
		fmt.Fprintf(out, "       %s: check %q attempt %d/%d: %v\n", in.p.ID(), name, attempt, c.Attempts, last)
		if attempt < c.Attempts {
			if err := sleep(ctx, in, time.Duration(c.Wait)*time.Second); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: %s: check %q failed %d times: %v", slipway.ErrHealthCheck, in.p.ID(), name, c.Attempts, last)
}

// probe sends one GET and wants a status of at most maxStatus and, if the
// check names content, a body containing it.
func probe(ctx context.Context, port int, c slipway.Healthcheck, maxStatus int) error {
	if c.Port > 0 {
		port = c.Port
	}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, c.Path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, h := range c.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	req.Header.Set("User-Agent", "slipway-healthcheck")
	resp, err := healthClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: no answer", c.Path)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode > maxStatus {
		return fmt.Errorf("GET %s answered %d", c.Path, resp.StatusCode)
	}
	if c.Content != "" && !strings.Contains(string(body), c.Content) {
		return fmt.Errorf("GET %s: the answer does not contain %q", c.Path, c.Content)
	}
	return nil
}

// sleep pauses for d unless the instance exits or ctx is done first.
func sleep(ctx context.Context, in target, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-in.p.Exited():
		return fmt.Errorf("%w: %s %s", slipway.ErrHealthCheck, in.p.ID(), in.p.ExitText())
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: deploy timed out", slipway.ErrHealthCheck, in.p.ID())
	}
}
