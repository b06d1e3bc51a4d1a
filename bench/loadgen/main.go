// Command loadgen is the part of bench/slipway-vs-nginx.sh that wrk does
// not do: an open-loop load at a fixed rate (latency counted from when each
// request was due, so a stalled proxy cannot hide its queue), and many idle
// keep-alive connections held open.
//
//	loadgen openloop -url http://127.0.0.1:8080/ -host app.test -rate 10000 -duration 10s
//	loadgen idle -url http://127.0.0.1:8080/ -host app.test -conns 10000
//
// openloop prints "SENT ERRORS P50_MS P99_MS P999_MS". idle opens the
// connections, makes one request on each, prints "ready N" once all are
// open and idle, holds them until its standard input is closed, and exits.
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen openloop|idle [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	target := fs.String("url", "", "URL to request")
	host := fs.String("host", "", "Host header")
	cookie := fs.String("cookie", "", "Cookie header, if any")
	rate := fs.Float64("rate", 1000, "openloop: requests per second")
	duration := fs.Duration("duration", 10*time.Second, "openloop: how long")
	conns := fs.Int("conns", 64, "openloop: connections at most; idle: connections to hold")
	fs.Parse(os.Args[2:])
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url: want http://HOST:PORT/PATH or https://…")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "openloop":
		err = openLoop(u, *host, *cookie, *rate, *duration, *conns)
	case "idle":
		err = idle(u, *host, *conns)
	default:
		err = errors.New("unknown mode " + os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

// openLoop sends requests due at a fixed rate over at most conns
// connections and prints how many were sent, how many failed and the
// latency percentiles, each measured from when the request was due.
//
// Each connection is a worker of its own that writes the request and reads
// the response in one goroutine: net/http's client hands every request
// from the caller to a write loop and a read loop, three goroutine
// wake-ups a request, which on a 2-core machine shared with both proxies
// made the load generator the busiest process of the run. A due request
// waits for the next free connection (as with HTTP/1.1 there is no other
// way), and that wait counts in its latency.
func openLoop(u *url.URL, host, cookie string, rate float64, d time.Duration, conns int) error {
	request := requestBytes(u, host, cookie)
	n := int(rate * d.Seconds())
	due := make(chan time.Time, n)
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for t := range due {
				var err error
				if c == nil {
					c, err = dial(u, host)
				}
				if err == nil {
					err = c.roundTrip(request)
				}
				if err != nil {
					failed.Add(1)
					if c != nil {
						c.Close()
						c = nil
					}
				}
				lat[next.Add(1)-1] = time.Since(t)
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		t := start.Add(time.Duration(i) * interval)
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		due <- t
	}
	close(due)
	wg.Wait()
	got := lat[:next.Load()]
	slices.Sort(got)
	pct := func(p float64) float64 {
		if len(got) == 0 {
			return 0
		}
		return float64(got[min(len(got)-1, int(p*float64(len(got))))]) / float64(time.Millisecond)
	}
	fmt.Printf("%d %d %.3f %.3f %.3f\n", len(got), failed.Load(), pct(0.50), pct(0.99), pct(0.999))
	return nil
}

// requestBytes is the GET request both modes send, written once.
func requestBytes(u *url.URL, host, cookie string) []byte {
	r := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + host + "\r\n"
	if cookie != "" {
		r += "Cookie: " + cookie + "\r\n"
	}
	return []byte(r + "\r\n")
}

// A client is one keep-alive connection to the proxy.
type client struct {
	net.Conn
	r *bufio.Reader
}

// dial opens a connection to u's host, over TLS for https (the bench's
// own self-signed certificate, not verified).
func dial(u *url.URL, host string) (*client, error) {
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: host})
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c.SetDeadline(time.Time{})
		c = tc
	}
	return &client{Conn: c, r: bufio.NewReader(c)}, nil
}

// roundTrip sends request and reads the whole response, which must be a
// 200 that leaves the connection open.
func (c *client) roundTrip(request []byte) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(request); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return errors.New(resp.Status)
	case resp.Close:
		return errors.New("the proxy closed the connection")
	}
	return nil
}

// idle opens n connections, makes one request on each, and holds them
// open and idle until standard input is closed.
func idle(u *url.URL, host string, n int) error {
	request := requestBytes(u, host, "")
	held := make([]*client, 0, n)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errc := make(chan error, n)
	sem := make(chan struct{}, 256) // connections being opened at once
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(u, host)
			if err == nil {
				if err = c.roundTrip(request); err != nil {
					c.Close()
				}
			}
			if err != nil {
				errc <- err
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errc)
	if err, ok := <-errc; ok {
		return fmt.Errorf("%d of %d connections failed, the first: %w", n-len(held), n, err)
	}
	fmt.Printf("ready %d\n", len(held))
	io.Copy(io.Discard, os.Stdin)
	return nil
}
