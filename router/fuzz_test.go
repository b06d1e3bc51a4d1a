package router

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/httpserver"
)

// FuzzProxyPath drives the whole path, slipway's edge server and the
// router, with a client byte stream and an app's answer (the bytes it
// writes for every request it reads, "%s" replaced by a tag naming the
// request answered), then asks for a victim's page on a new connection:
// whatever the two streams, no client gets a tag issued for another's
// request. Run it with
//
//	go test -run '^$' -fuzz FuzzProxyPath -fuzzminimizetime 10x ./router
//
// (an input can take a tenth of a second: minimizing one for the default
// minute each stalls the run).
func FuzzProxyPath(f *testing.F) {
	for i := 0; i < len(clientStreams); i += 16 {
		f.Add(clientStreams[i].stream, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n%s")
	}
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n%sHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n<<unasked>>",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n%s\r\n0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n%s",
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n%s",
		"HTTP/1.0 200 OK\r\n\r\n%s",
		"HTTP/1.1 204 No Content\r\n\r\n%s",
	} {
		f.Add(withLength("GET", "/a", smuggle)+request("GET", "/b", "", ""), s)
	}
	edge := newFuzzEdge(f)
	f.Fuzz(func(t *testing.T, stream, answer string) {
		if len(stream) > 64<<10 || len(answer) > 64<<10 {
			return
		}
		edge.check(t, stream, answer)
	})
}

// fuzzEdge is one slipway edge for all of a fuzz run's inputs, each with
// an app of its own.
type fuzzEdge struct {
	router *Router
	addr   string
	n      atomic.Int64
}

func newFuzzEdge(f *testing.F) *fuzzEdge {
	log := slog.New(slog.DiscardHandler)
	r := New(Config{Domain: testDomain, AffinityKey: testKey, Logger: log})
	f.Cleanup(r.Close)
	srv := httpserver.New("http", "127.0.0.1:0", r, log)
	srv.Lean = true
	if err := srv.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Shutdown(f.Context()) })
	return &fuzzEdge{router: r, addr: srv.Addr()}
}

// fuzzQuiet is converse's quiet for fuzzing: most inputs end with a close.
const fuzzQuiet = 100 * time.Millisecond

func (e *fuzzEdge) check(t *testing.T, stream, answer string) {
	n := e.n.Add(1)
	name := fmt.Sprintf("f%03d", n%1000)
	host := name + ".apps.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	// Each answer's tag has a number of its own, which an app's literal
	// bytes cannot guess: a tag names the request it was issued for.
	issuedFor := map[string]string{} // tag → path
	issue := func(path string) string {
		mu.Lock()
		defer mu.Unlock()
		t := fmt.Sprintf("<<%s#%d>>", path, len(issuedFor))
		issuedFor[t] = path
		return t
	}
	// foreign returns the tags in got issued for a request to another
	// path than path (or, with other set, for one to path).
	foreign := func(got, path string, other bool) []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, t := range issuedTag.FindAllString(got, -1) {
			if p, ok := issuedFor[t]; ok && (p == path) == other {
				out = append(out, t)
			}
		}
		return out
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() { fuzzApp(c, answer, issue) })
		}
	})
	defer func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		e.router.Remove(name)
	}()
	e.router.SetLive(&Pool{App: name, Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: ln.Addr().String()}}})

	stream = strings.ReplaceAll(stream, "cxxx.apps.test", host)
	client := converseQuiet(t, e.addr, stream+strings.ReplaceAll(endStream, "cxxx.apps.test", host), fuzzQuiet)
	victim := fmt.Sprintf("/victim-%d", n)
	got := converseQuiet(t, e.addr, "GET "+victim+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n", fuzzQuiet)
	if tags := foreign(client, victim, true); len(tags) > 0 {
		t.Errorf("the client got the victim's answer %q:\n%q", tags, client)
	}
	if tags := foreign(got, victim, false); len(tags) > 0 {
		t.Errorf("the victim got another's answer %q:\n%q", tags, got)
	}
}

// issuedTag matches the tags fuzzApp issues.
var issuedTag = regexp.MustCompile(`<<[^<>#]*#\d+>>`)

// fuzzApp answers each request it reads on c with answer, each "%s" in it
// replaced by a tag issue makes for the request's path.
func fuzzApp(c net.Conn, answer string, issue func(path string) string) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		if _, err := c.Write([]byte(strings.ReplaceAll(answer, "%s", issue(req.URL.Path)))); err != nil {
			return
		}
	}
}
