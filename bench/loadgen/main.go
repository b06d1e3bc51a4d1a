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
	"strings"
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
	conns := fs.Int("conns", 64, "openloop: connections at most (to each URL); idle: connections to hold")
	versus := fs.String("versus", "", "openloop: a second URL, loaded in turn with -url, slice by slice")
	slice := fs.Duration("slice", 20*time.Millisecond, "openloop with -versus: how long each URL is loaded before the other")
	fs.Parse(os.Args[2:])
	u, err := parseURL("url", *target)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	targets := []*url.URL{u}
	if *versus != "" {
		v, err := parseURL("versus", *versus)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		targets = append(targets, v)
	}
	if *rate <= 0 || *slice <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -rate and -slice must be above 0")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "openloop":
		err = openLoop(targets, *host, *cookie, *rate, *duration, *slice, *conns)
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
// connections to each target and prints, for each target in turn, how many
// were sent, how many failed and the latency percentiles, each measured
// from when the request was due.
//
// With more than one target the time is cut into slices of slice each,
// and the slices go to the targets in turn: every target is loaded at the
// same rate, one at a time, and a busy neighbour on a shared machine (a
// burst of tens of milliseconds to seconds) lands on all of them alike
// instead of on whichever ran in its time.
//
// Each connection is a worker of its own that writes the request and reads
// the response in one goroutine: net/http's client hands every request
// from the caller to a write loop and a read loop, three goroutine
// wake-ups a request, which on a 2-core machine shared with both proxies
// made the load generator the busiest process of the run. A due request
// waits for the next free connection of its target (as with HTTP/1.1 there
// is no other way), and that wait counts in its latency.
func openLoop(targets []*url.URL, host, cookie string, rate float64, d, slice time.Duration, conns int) error {
	interval := time.Duration(float64(time.Second) / rate)
	perSlice := max(1, int(slice/interval))
	if len(targets) == 1 {
		perSlice = 1
	}
	// Whole slices, so that every target gets as many requests.
	n := (int(rate*d.Seconds()) + perSlice - 1) / perSlice * perSlice
	loads := make([]*load, len(targets))
	for i, u := range targets {
		loads[i] = startLoad(u, host, cookie, n, conns)
	}
	start := time.Now()
	for i := range n * len(loads) {
		t := start.Add(time.Duration(i) * interval)
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		loads[(i/perSlice)%len(loads)].due <- t
	}
	var out []string
	for _, l := range loads {
		out = append(out, l.finish())
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

// A load is one target's connections in an open loop and the latencies
// of its requests.
type load struct {
	due          chan time.Time
	lat          []time.Duration
	next, failed atomic.Int64
	wg           sync.WaitGroup
}

// startLoad starts conns workers that each send a request to u for every
// time on the load's due channel, which holds up to n.
func startLoad(u *url.URL, host, cookie string, n, conns int) *load {
	l := &load{due: make(chan time.Time, n), lat: make([]time.Duration, n)}
	request := requestBytes(u, host, cookie)
	for range conns {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			var c *client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for t := range l.due {
				var err error
				if c == nil {
					c, err = dial(u, host)
				}
				if err == nil {
					err = c.roundTrip(request)
				}
				if err != nil {
					l.failed.Add(1)
					if c != nil {
						c.Close()
						c = nil
					}
				}
				l.lat[l.next.Add(1)-1] = time.Since(t)
			}
		}()
	}
	return l
}

// finish waits for the load's requests and returns "SENT ERRORS P50_MS
// P99_MS P999_MS".
func (l *load) finish() string {
	close(l.due)
	l.wg.Wait()
	got := l.lat[:l.next.Load()]
	slices.Sort(got)
	pct := func(p float64) float64 {
		if len(got) == 0 {
			return 0
		}
		return float64(got[min(len(got)-1, int(p*float64(len(got))))]) / float64(time.Millisecond)
	}
	return fmt.Sprintf("%d %d %.3f %.3f %.3f", len(got), l.failed.Load(), pct(0.50), pct(0.99), pct(0.999))
}

// parseURL parses the URL given to flag name.
func parseURL(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("loadgen: -%s: want http://HOST:PORT/PATH or https://…", name)
	}
	return u, nil
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
