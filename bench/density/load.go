package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// target is a router and the apps whose Hosts a load spreads over,
// request after request in turn.
type target struct {
	addr string   // the router, 127.0.0.1:PORT
	apps []string // the apps
}

// latencies are the outcome of one target's requests, each measured from
// when it was due.
type latencies struct {
	lat    []time.Duration
	failed int
}

// p returns the p-th quantile (0 < p < 1) of the latencies, in ms.
func (l latencies) p(p float64) float64 {
	if len(l.lat) == 0 {
		return 0
	}
	s := slices.Clone(l.lat)
	slices.Sort(s)
	return ms(s[min(len(s)-1, int(p*float64(len(s))))])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// openLoop loads the targets at rate requests a second each, open loop
// (a constant arrival schedule; latency counts from when a request was
// due, so a stalled router cannot hide its queue), for d each. With two
// targets the time is cut into slices and the slices go to the targets in
// turn, as bench/loadgen's -versus does: both get the same rate, one at a
// time, and a busy neighbour on a shared machine lands on both alike.
// Each target has conns keep-alive connections, each a worker that
// writes a request and reads its response; a due request waits for a
// free one, and that wait counts in its latency.
func openLoop(targets []target, rate float64, d, slice time.Duration, conns int) []latencies {
	interval := time.Duration(float64(time.Second) / rate)
	perSlice := max(1, int(slice/interval))
	n := (int(rate*d.Seconds()) + perSlice - 1) / perSlice * perSlice
	loads := make([]*load, len(targets))
	for i, t := range targets {
		loads[i] = startLoad(t, n, conns)
	}
	start := time.Now()
	for i := range n * len(loads) {
		t := start.Add(time.Duration(i) * interval)
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		loads[(i/perSlice)%len(loads)].due <- t
	}
	out := make([]latencies, len(loads))
	for i, l := range loads {
		out[i] = l.finish()
	}
	return out
}

// A load is one target's connections and the latencies of its requests.
type load struct {
	due          chan time.Time
	lat          []time.Duration
	next, failed atomic.Int64
	wg           sync.WaitGroup
}

// startLoad starts conns workers that each send a request to t for every
// time on the load's due channel, which holds up to n; request k goes to
// app k mod len(t.apps).
func startLoad(t target, n, conns int) *load {
	l := &load{due: make(chan time.Time, n), lat: make([]time.Duration, n)}
	requests := make([][]byte, len(t.apps))
	for i, app := range t.apps {
		requests[i] = []byte("GET / HTTP/1.1\r\nHost: " + app + "." + domain + "\r\n\r\n")
	}
	var seq atomic.Int64
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
			for due := range l.due {
				var err error
				if c == nil {
					c, err = dial(t.addr)
				}
				if err == nil {
					err = c.roundTrip(requests[int(seq.Add(1)-1)%len(requests)])
				}
				if err != nil {
					l.failed.Add(1)
					if c != nil {
						c.Close()
						c = nil
					}
				}
				l.lat[l.next.Add(1)-1] = time.Since(due)
			}
		}()
	}
	return l
}

// finish waits for the load's requests and returns their latencies.
func (l *load) finish() latencies {
	close(l.due)
	l.wg.Wait()
	return latencies{lat: l.lat[:l.next.Load()], failed: int(l.failed.Load())}
}

// A client is one keep-alive connection to the router.
type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
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
		return errors.New("the router closed the connection")
	}
	return nil
}
