package drains

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// httpsSender POSTs batches to an HTTPS drain in Heroku's format: a body
// of octet-counted RFC 5424 messages, Content-Type
// application/logplex-1, Logplex-Msg-Count and Logplex-Frame-Id (the
// same on a retry, for a receiver to drop a batch it had). A 2xx answer
// delivers the batch; anything else is retried.
type httpsSender struct {
	cfg    *Config
	url    string
	h      header
	client *http.Client
}

// maxAnswer is as much of an answer as is read, for the connection to be
// reused.
const maxAnswer = 64 << 10

func newHTTPSSender(cfg *Config, u *url.URL, h header) *httpsSender {
	dialer := &net.Dialer{Timeout: cfg.DialTimeout}
	tr := &http.Transport{
		Proxy:                 nil, // straight to the drain, whatever the environment says
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.WriteTimeout,
		MaxIdleConnsPerHost:   1,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{Transport: tr, Timeout: cfg.DialTimeout + 2*cfg.WriteTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &httpsSender{cfg: cfg, url: u.String(), h: h, client: client}
}

func (s *httpsSender) send(ctx context.Context, b *batch) error {
	// A new body each time: the transport may read the last one still.
	var body []byte
	now, count := s.cfg.Now(), 0
	for _, l := range b.lines {
		var n int
		body, n = appendFrames(body, s.h, l, now)
		count += n
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("the drain's URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/logplex-1")
	req.Header.Set("Logplex-Msg-Count", strconv.Itoa(count))
	req.Header.Set("Logplex-Frame-Id", b.id)
	req.Header.Set("User-Agent", "slipway")
	resp, err := s.client.Do(req)
	if err != nil {
		// Without the URL, which a url.Error names: it may hold a token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("POST to %s: %w", req.URL.Host, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Its code only: the drain's own words are not shown.
		return fmt.Errorf("POST to %s: answered %d %s", req.URL.Host, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

func (s *httpsSender) close() { s.client.CloseIdleConnections() }
