package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// simpleFunc is a SimpleHandler made of two functions.
type simpleFunc struct {
	simple func(x *Exchange) bool
	std    http.HandlerFunc
}

func (h simpleFunc) ServeSimple(x *Exchange) bool                     { return h.simple(x) }
func (h simpleFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.std(w, r) }

// rawReply writes body as a whole response with Begin and EndHead.
func rawReply(x *Exchange, body string) {
	bw := x.Begin(http.StatusOK)
	bw.WriteString("Content-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	x.EndHead(false)
	bw.WriteString(body)
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, string(b)
}

// A plain GET, the first of its connection too, goes to ServeSimple with
// its target, Host, header lines and address; the response it writes
// itself gets a Date and the connection stays open for the next one.
func TestExchange_PlainGETGoesToServeSimple(t *testing.T) {
	seen := make(chan []string, 1)
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool {
			seen <- []string{x.Target(), x.Host(), x.Fields(), x.RemoteAddr(), strconv.FormatBool(x.TLS()), strconv.FormatBool(x.Close())}
			rawReply(x, "raw "+x.Target())
			return true
		},
		std: func(w http.ResponseWriter, r *http.Request) { t.Errorf("ServeHTTP got %s %s", r.Method, r.RequestURI) },
	})
	c, br := dial(t, addr)
	for i, target := range []string{"/p?q=1", "/second"} {
		io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: a.test:80\r\nX-A:  1 \r\n\r\n")
		res, body := readResponse(t, br)
		if body != "raw "+target || res.Header.Get("Date") == "" || res.Close {
			t.Errorf("request %d: got %q, Date %q, close %v", i, body, res.Header.Get("Date"), res.Close)
		}
		want := []string{target, "a.test:80", "Host: a.test:80\r\nX-A:  1 \r\n", c.LocalAddr().String(), "false", "false"}
		if got := <-seen; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("request %d: ServeSimple saw %q, want %q", i, got, want)
		}
	}
}

// What ServeSimple declines, and every request that is not a plain GET,
// is served by ServeHTTP with the request net/http would make.
func TestExchange_DeclinedAndOtherRequestsGoToServeHTTP(t *testing.T) {
	var mu sync.Mutex
	offered := map[string]bool{}
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool {
			mu.Lock()
			offered[x.Target()] = true
			mu.Unlock()
			return false
		},
		std: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Method+" "+r.RequestURI+" "+r.Host+" "+r.Header.Get("X-A")+" "+strconv.Itoa(len(r.Header["Host"])))
		},
	})
	for _, tc := range []struct {
		req, want string
		offered   bool
	}{
		{"GET /declined HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n", "GET /declined a 1 0", true},
		{"HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
		{"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST /post a  0", false},
		{"GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a|b a  0", false},
		{"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", "GET /ws a  0", false},
		{"GET /old HTTP/1.0\r\nHost: a\r\n\r\n", "GET /old a  0", false},
	} {
		c, br := dial(t, addr)
		io.WriteString(c, tc.req)
		method, _, _ := strings.Cut(tc.req, " ")
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		target := strings.Fields(tc.req)[1]
		mu.Lock()
		was := offered[target] // (set before the answer went out)
		mu.Unlock()
		if string(body) != tc.want || was != tc.offered {
			t.Errorf("%q: got %q, offered %v; want %q, offered %v", tc.req, body, was, tc.want, tc.offered)
		}
	}
}

// A client's Connection: close gets one back and the connection closes
// after the response.
func TestExchange_ConnectionClose(t *testing.T) {
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool { rawReply(x, "bye"); return true },
		std:    func(w http.ResponseWriter, r *http.Request) { t.Error("ServeHTTP") },
	})
	c, br := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	res, body := readResponse(t, br)
	if body != "bye" || !res.Close {
		t.Errorf("got %q, close %v", body, res.Close)
	}
	if !closedWithin(c, 5*time.Second) {
		t.Error("the connection stayed open")
	}
}

// Two plain requests in one write are both served, in order.
func TestExchange_Pipelined(t *testing.T) {
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool { rawReply(x, x.Target()); return true },
		std:    func(w http.ResponseWriter, r *http.Request) { t.Error("ServeHTTP") },
	})
	c, br := dial(t, addr)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/1", "/2"} {
		if _, body := readResponse(t, br); body != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
}

// Writer gives a ResponseWriter with net/http's rules and the request as
// ServeHTTP would get it, whose context is the exchange's; a handler that
// writes nothing answers 200 with no body.
func TestExchange_Writer(t *testing.T) {
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool {
			if x.Target() == "/nothing" {
				return true
			}
			w, r := x.Writer()
			if r.Context() != x.Context() || r.Host != "a" || len(r.Header["Host"]) != 0 || r.Header.Get("X-A") != "1" {
				t.Errorf("Writer's request: context %v, host %q, header %v", r.Context() == x.Context(), r.Host, r.Header)
			}
			w.Header().Set("X-Out", "2")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
			return true
		},
		std: func(w http.ResponseWriter, r *http.Request) { t.Error("ServeHTTP") },
	})
	c, br := dial(t, addr)
	io.WriteString(c, "GET /tea HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n")
	res, body := readResponse(t, br)
	if res.StatusCode != http.StatusTeapot || res.Header.Get("X-Out") != "2" || body != "short and stout" || res.ContentLength != int64(len(body)) {
		t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
	}
	io.WriteString(c, "GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n")
	if res, body := readResponse(t, br); res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("a handler that wrote nothing: got %d %q", res.StatusCode, body)
	}
}

// Abort closes the connection after a response cut short, so the client
// sees it was.
func TestExchange_Abort(t *testing.T) {
	s := &Server{}
	addr := start(t, s, simpleFunc{
		simple: func(x *Exchange) bool {
			bw := x.Begin(http.StatusOK)
			bw.WriteString("Content-Length: 10\r\n")
			x.EndHead(false)
			bw.WriteString("abc")
			x.Abort()
			return true
		},
		std: func(w http.ResponseWriter, r *http.Request) { t.Error("ServeHTTP") },
	})
	c, br := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(res.Body); err != io.ErrUnexpectedEOF {
		t.Errorf("read %q, %v; want the body cut short", b, err)
	}
}

// A client that goes away during a slow exchange cancels its context.
func TestExchange_ClientGoneCancelsContext(t *testing.T) {
	addr, started, canceled := slowExchanges(t)
	c, _ := dial(t, addr)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	time.Sleep(2 * disconnectWatchAfter) // the watch starts after it
	c.Close()
	wantCanceled(t, canceled)
}

// slowExchanges starts a server whose exchange for /slow waits for its
// context to end (started is closed once it waits; canceled gets the
// context's error, or nil after 10 s) and that answers others with
// "quick".
func slowExchanges(t *testing.T) (addr string, started chan struct{}, canceled chan error) {
	canceled = make(chan error, 1)
	started = make(chan struct{})
	addr = start(t, &Server{}, simpleFunc{
		simple: func(x *Exchange) bool {
			if x.Target() != "/slow" {
				rawReply(x, "quick")
				return true
			}
			close(started)
			select {
			case <-x.Context().Done():
				canceled <- x.Context().Err()
			case <-time.After(10 * time.Second):
				canceled <- nil
			}
			return true
		},
		std: func(w http.ResponseWriter, r *http.Request) { t.Error("ServeHTTP") },
	})
	return addr, started, canceled
}

// wantCanceled waits for the slow exchange to end, canceled.
func wantCanceled(t *testing.T, canceled chan error) {
	t.Helper()
	select {
	case err := <-canceled:
		if err != context.Canceled {
			t.Errorf("the slow exchange's context ended with %v, want canceled when the client left", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ServeSimple did not return")
	}
}

// The watch timer a quick request armed, still running when the next
// request comes, starts that one's watch once it has waited its own
// disconnectWatchAfter: a slow request after quick ones is watched too.
func TestExchange_WatchAfterQuickRequests(t *testing.T) {
	addr, started, canceled := slowExchanges(t)
	c, br := dial(t, addr)
	// After the first request the connection is handed over (and keeps
	// no timer); the second arms one, which still runs when the third
	// begins, half its wait later: it fires while the third has waited
	// half of its own.
	for range 2 {
		io.WriteString(c, "GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := readResponse(t, br); body != "quick" {
			t.Fatalf("got %q, want the quick response", body)
		}
	}
	time.Sleep(disconnectWatchAfter / 2)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	time.Sleep(2 * disconnectWatchAfter) // the watch starts after it
	c.Close()
	wantCanceled(t, canceled)
}
