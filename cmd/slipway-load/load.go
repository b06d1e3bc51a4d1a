package main

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// cookieName is slipway's affinity cookie.
const cookieName = "slipway_affinity"

// Tuning of the load generator.
const (
	tickEvery = time.Millisecond
	// lateAfter: a request the dispatcher reaches this long after its
	// scheduled time is counted late and not sent, so a stalled dispatcher
	// does not fire a burst that no real client would send.
	lateAfter  = 100 * time.Millisecond
	maxSamples = 40    // failed requests kept with their details
	maxFlips   = 10000 // flips kept; there is at most one per session
)

// loadConfig is what the generator needs.
type loadConfig struct {
	URL             string // the router, "http://127.0.0.1:PORT/"
	Host            string // Host header: the app's name under the domain
	Sessions        int
	SessionRequests int
	Rate            float64
	MaxInFlight     int
	RequestTimeout  time.Duration
}

// generator sends requests open loop at a fixed total rate, spread
// round robin over sessions that each keep their affinity cookie.
type generator struct {
	cfg    loadConfig
	client *http.Client
	sem    chan struct{} // one token per request in flight
	wg     sync.WaitGroup
	start  time.Time

	// Dispatcher state: only the dispatcher goroutine touches these.
	slots  []*session
	next   int // slot to try first
	nextID int
	lag    []time.Duration // per second of load, the most a request was sent after its time

	late     atomic.Int64
	started  atomic.Int64 // sessions started
	flipped  atomic.Int64 // sessions that saw two releases
	mu       sync.Mutex
	records  []record
	failures []failure // the first maxSamples
	flips    []flip    // the first maxFlips
}

// session is one simulated client.
type session struct {
	id     int
	sent   int // requests dispatched; dispatcher only
	budget int // requests after which it ends; dispatcher only

	mu      sync.Mutex
	cookie  string // value of the affinity cookie, "" before the first answer
	opening bool   // its first request is in flight: wait for the cookie
	release string // the first release it saw
	flipped bool
}

// record is one request's outcome.
type record struct {
	start   time.Time
	dur     time.Duration
	kind    string // "" when it succeeded, else "status 502", "timeout", …
	release string // X-Release of the answer
	session int
	seq     int
}

// failure is a failed request with what helps find its cause.
type failure struct {
	record
	session, seq int
	pinned       string // release/instance the request's cookie named, or "-"
	detail       string // the start of the body, or the error text
}

// flip is a session whose request got another release than its first.
type flip struct {
	at           time.Time
	session, seq int
	from, to     string
	pinned       string // release/instance the request's cookie named
}

// newGenerator returns a generator with its own keep-alive transport.
func newGenerator(cfg loadConfig) *generator {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: max(512, cfg.MaxInFlight),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &generator{
		cfg: cfg,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		sem:   make(chan struct{}, cfg.MaxInFlight),
		slots: make([]*session, cfg.Sessions),
	}
}

// run sends requests until stop is closed, then waits for the requests in
// flight. ctx cancels the requests in flight (Ctrl-C).
func (g *generator) run(ctx context.Context, stop <-chan struct{}) {
	defer g.client.CloseIdleConnections()
	defer g.wg.Wait()
	// The first sessions end after 1/n, 2/n … of the requests of a whole
	// session, so that sessions end and start all the time, as real ones
	// do, rather than all at once every SessionRequests requests.
	n := len(g.slots)
	for i := range g.slots {
		g.slots[i] = g.newSession()
		g.slots[i].budget = max(1, (i+1)*g.cfg.SessionRequests/n)
	}
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	g.start = time.Now()
	interval := float64(time.Second) / g.cfg.Rate
	var due int64 // requests scheduled so far
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for ; ; due++ {
			at := g.start.Add(time.Duration(float64(due) * interval))
			if at.After(now) {
				break
			}
			lag := now.Sub(at)
			g.noteLag(now, lag)
			if lag > lateAfter {
				g.late.Add(1)
				continue
			}
			g.dispatch(ctx)
		}
	}
}

// noteLag keeps the largest dispatch lag of each second. A large lag means
// this process did not get the CPU: whatever slowed the requests then was
// the machine, not slipway alone.
func (g *generator) noteLag(now time.Time, lag time.Duration) {
	i := int(now.Sub(g.start) / time.Second)
	for len(g.lag) <= i {
		g.lag = append(g.lag, 0)
	}
	g.lag[i] = max(g.lag[i], lag)
}

// dispatch sends one request for the next session that can send one, or
// counts it late when none can or too many requests are in flight.
func (g *generator) dispatch(ctx context.Context) {
	select {
	case g.sem <- struct{}{}:
	default:
		g.late.Add(1)
		return
	}
	for range len(g.slots) {
		i := g.next
		g.next = (g.next + 1) % len(g.slots)
		s := g.slots[i]
		s.mu.Lock()
		opening := s.opening
		if s.sent == 0 {
			s.opening = true
		}
		s.mu.Unlock()
		if opening {
			continue // like a browser, it has not got its first page yet
		}
		s.sent++
		if s.sent == s.budget {
			g.slots[i] = g.newSession()
		}
		g.wg.Add(1)
		go g.do(ctx, s, s.sent)
		return
	}
	<-g.sem
	g.late.Add(1)
}

func (g *generator) newSession() *session {
	g.nextID++
	g.started.Add(1)
	return &session{id: g.nextID, budget: g.cfg.SessionRequests}
}

// do sends request number seq of session s and records what came back.
func (g *generator) do(ctx context.Context, s *session, seq int) {
	defer g.wg.Done()
	defer func() { <-g.sem }()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	s.mu.Lock()
	cookie := s.cookie
	s.mu.Unlock()
	start := time.Now()
	resp, body, err := fetch(ctx, g.client, g.cfg.URL, g.cfg.Host, cookie)
	rec := record{start: start, dur: time.Since(start), session: s.id, seq: seq}

	release := ""
	s.mu.Lock()
	if err == nil {
		if c := affinityCookie(resp); c != "" {
			s.cookie = c
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			rec.kind = "status " + resp.Status
		}
		release = resp.Header.Get("X-Release")
		rec.release = release
	} else {
		rec.kind = errorKind(err)
	}
	if seq == 1 {
		s.opening = false
	}
	var fl *flip
	if rec.kind == "" && release != "" {
		switch {
		case s.release == "":
			s.release = release
		case s.release != release && !s.flipped:
			s.flipped = true
			fl = &flip{at: start, session: s.id, seq: seq, from: s.release, to: release, pinned: cookieRoute(cookie)}
		}
	}
	s.mu.Unlock()

	g.mu.Lock()
	defer g.mu.Unlock()
	g.records = append(g.records, rec)
	if fl != nil {
		g.flipped.Add(1)
		if len(g.flips) < maxFlips {
			g.flips = append(g.flips, *fl)
		}
	}
	if rec.kind != "" && len(g.failures) < maxSamples {
		f := failure{record: rec, session: s.id, seq: seq, pinned: cookieRoute(cookie)}
		if err != nil {
			f.detail = err.Error()
		} else {
			f.detail = bodyText(body, 120)
		}
		g.failures = append(g.failures, f)
	}
}

// fetch sends GET url with Host host and the affinity cookie, if any,
// and reads up to 4 KiB of the answer.
func fetch(ctx context.Context, client *http.Client, url, host, cookie string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		panic(err) // the URL is ours
	}
	req.Host = host
	if cookie != "" {
		req.Header.Set("Cookie", cookieName+"="+cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return resp, body, err
}

// affinityCookie returns the affinity cookie resp sets, or "".
func affinityCookie(resp *http.Response) string {
	v := ""
	for _, c := range resp.Cookies() {
		if c.Name == cookieName && c.Value != "" {
			v = c.Value
		}
	}
	return v
}

// bodyText is the text of an error page on one line: tags dropped,
// white space collapsed, at most n bytes.
func bodyText(body []byte, n int) string {
	var b strings.Builder
	inTag := false
	for _, c := range string(body) {
		switch {
		case c == '<':
			inTag = true
			b.WriteByte(' ')
		case c == '>':
			inTag = false
		case !inTag:
			b.WriteRune(c)
		}
	}
	text := strings.Join(strings.Fields(b.String()), " ")
	if len(text) > n {
		text = text[:n] + "…"
	}
	return text
}

// errorKind names a transport error for the breakdown of failures.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	return "error " + err.Error()
}

// cookieRoute reads the release and instance an affinity cookie names, for
// diagnostics only: the value is base64url(issued[4] len[1] release
// instance tag[16]), signed but not encrypted. It returns "-" for none.
func cookieRoute(value string) string {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < 4+1+16 {
		return "-"
	}
	payload := raw[:len(raw)-16]
	n := int(payload[4])
	rest := payload[5:]
	if n > len(rest) {
		return "?"
	}
	return string(rest[:n]) + "/" + string(rest[n:])
}

// results returns what the generator recorded; call it after run.
func (g *generator) results() (records []record, failures []failure, flips []flip, lag []time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.records, g.failures, g.flips, g.lag
}
