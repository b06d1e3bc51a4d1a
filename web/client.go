package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/slipway/slipway/internal/stream"
)

// Client talks to a running slipway's admin API, for the local `slipway
// COMMAND` commands.
type Client struct {
	Addr string // host:port
	// Socket, when set, is the admin API's unix socket (DATA/run/admin.sock),
	// reached in place of Addr: HTTP's transport must dial it (UnixClient).
	Socket string
	Token  string
	HTTP   *http.Client
}

// UnixClient returns an http.Client whose every connection goes to the
// unix socket at path, with timeout for a whole request.
func UnixClient(path string, timeout time.Duration) *http.Client {
	var d net.Dialer
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// where names what the client talks to, for an error.
func (c *Client) where() string {
	if c.Socket != "" {
		return c.Socket
	}
	return c.Addr
}

// JSON sends a request with body as JSON and decodes a JSON answer into
// out.
func (c *Client) JSON(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("cannot reach slipway's admin API at %s: is slipway serve running? (--admin-addr)", c.where())
	}
	defer resp.Body.Close()
	if err := refusal(resp); err != nil {
		return err
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return json.Unmarshal(data, out)
}

// Command runs management command name with args in the daemon, giving
// it stdin (nil for none) and copying its output to out as it comes, and
// returns its verdict.
func (c *Client) Command(ctx context.Context, name string, args []string, stdin []byte, out io.Writer) error {
	body := map[string]any{"args": args}
	if stdin != nil {
		body["stdin"] = string(stdin)
	}
	resp, err := c.send(ctx, http.MethodPost, "/api/commands/"+name, body)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cannot reach slipway's admin API at %s: is slipway serve running? (SLIPWAY_ADMIN_ADDR)", c.where())
	}
	defer resp.Body.Close()
	if err := refusal(resp); err != nil {
		return err
	}
	return stream.Read(resp, out)
}

func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	host := c.Addr
	if c.Socket != "" {
		host = "localhost" // the socket's transport ignores it
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+host+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	return c.HTTP.Do(req)
}

// refusal returns the API's error of an answer that is not 200 OK.
func refusal(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct{ Error string }
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("admin API answered %s", resp.Status)
}
