package drains

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

var _ supervisor.LogSink = (*Manager)(nil)

var waitFor = testutil.WaitFor

// waitMessages waits until r has n messages and returns them.
func waitMessages(t *testing.T, r *receiver, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d messages at the receiver", n), func() bool {
		got = r.messages()
		return len(got) >= n
	})
	return got
}

// An app's lines arrive at a syslog receiver over TCP as RFC 5424
// messages naming the app, the process and slipway's host, in order.
func TestManager_SendsToSyslogOverTCP(t *testing.T) {
	r := newReceiver(t, nil)
	m := startManager(t, testConfig())
	m.Set("shop", []string{"syslog://" + r.addr()})
	m.LogLine("shop", logLine("web.1 v3", "first"))
	m.LogLine("other", logLine("web.1 v1", "not shop's"))
	m.LogLine("shop", logLine("router", "method=GET path=/"))
	got := waitMessages(t, r, 2)
	first, second := parseMessage(t, got[0]), parseMessage(t, got[1])
	if first.pri != "<190>" || first.version != "1" || first.ts != "2026-12-07T22:30:01.123Z" || first.host != "slipway-host" ||
		first.app != "shop" || first.proc != "web.1" || first.msgid != "-" || first.sd != "-" || first.text != "first" {
		t.Errorf("first message = %+v", first)
	}
	if second.pri != "<158>" || second.proc != "router" || second.text != "method=GET path=/" {
		t.Errorf("second message = %+v", second)
	}
	waitFor(t, "the drain to count its lines", func() bool { return m.Status("shop")[0].Sent == 2 })
	st := m.Status("shop")[0]
	if st.State != slipway.DrainConnected || st.ID != slipway.LogDrainID(testIDKey, "syslog://"+r.addr()) || st.Dropped != 0 || st.App != "shop" {
		t.Errorf("status = %+v", st)
	}
	if len(r.messages()) != 2 {
		t.Errorf("messages = %q, want shop's two", r.messages())
	}
}

// syslog+tls verifies the receiver's certificate with the configured
// roots, and one it cannot verify gets nothing.
func TestManager_SendsOverTLSOnlyToATrustedReceiver(t *testing.T) {
	ca := testutil.NewTestCA(t)
	r := newReceiver(t, &ca.Cert)
	cfg := testConfig()
	cfg.RootCAs = ca.Pool
	m := startManager(t, cfg)
	m.Set("shop", []string{"syslog+tls://localhost:" + port(r.addr())})
	m.LogLine("shop", logLine("web.1 v3", "over tls"))
	if msg := parseMessage(t, waitMessages(t, r, 1)[0]); msg.text != "over tls" || msg.app != "shop" {
		t.Errorf("message = %+v", msg)
	}

	untrusting := startManager(t, testConfig()) // the system's roots: not the test's CA
	untrusting.Set("shop", []string{"syslog+tls://localhost:" + port(r.addr())})
	untrusting.LogLine("shop", logLine("web.1 v3", "to a stranger"))
	waitFor(t, "the untrusted drain to retry", func() bool { return untrusting.Status("shop")[0].State == slipway.DrainRetrying })
	if st := untrusting.Status("shop")[0]; !strings.Contains(st.LastError, "certificate") || st.Sent != 0 {
		t.Errorf("status = %+v, want a certificate error", st)
	}
	if got := r.messages(); len(got) != 1 {
		t.Errorf("the receiver got %q", got)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// post is one POST an HTTPS receiver got.
type post struct {
	header http.Header
	msgs   []string
	user   string
	pass   string
}

// httpsReceiver is an HTTPS drain answering with answer (200 when it
// returns 0), keeping every POST.
type httpsReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []post
}

func newHTTPSReceiver(t *testing.T, answer func(n int) int) *httpsReceiver {
	h := &httpsReceiver{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p := post{header: r.Header.Clone()}
		p.user, p.pass, _ = r.BasicAuth()
		if err := readFrames(strings.NewReader(string(body)), func(m string) { p.msgs = append(p.msgs, m) }); err != nil {
			t.Errorf("POST body: %v", err)
		}
		h.mu.Lock()
		h.posts = append(h.posts, p)
		n := len(h.posts)
		h.mu.Unlock()
		if code := answer(n); code != 0 {
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *httpsReceiver) got() []post {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]post(nil), h.posts...)
}

func (h *httpsReceiver) config() Config {
	cfg := testConfig()
	cfg.RootCAs = h.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return cfg
}

// An HTTPS drain gets the lines batched, at most 500 a POST, in Heroku's
// logplex format.
func TestManager_BatchesHTTPSPosts(t *testing.T) {
	h := newHTTPSReceiver(t, func(int) int { return 0 })
	cfg := h.config()
	cfg.BatchWait = time.Hour // only a full batch, or the stop, sends
	m := New(cfg)
	m.Start()
	m.Set("shop", []string{h.srv.URL + "/logs"})
	for i := range 700 {
		m.LogLine("shop", logLine("web.1 v2", "line "+strconv.Itoa(i)))
	}
	waitFor(t, "a full batch", func() bool { return len(h.got()) >= 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil { // sends the rest at once
		t.Fatal(err)
	}
	posts := h.got()
	if len(posts) != 2 || len(posts[0].msgs) != 500 || len(posts[1].msgs) != 200 {
		t.Fatalf("%d posts, want 500 lines then 200", len(posts))
	}
	n := 0
	for _, p := range posts {
		if ct := p.header.Get("Content-Type"); ct != "application/logplex-1" {
			t.Errorf("Content-Type = %q", ct)
		}
		if c := p.header.Get("Logplex-Msg-Count"); c != strconv.Itoa(len(p.msgs)) {
			t.Errorf("Logplex-Msg-Count = %q for %d messages", c, len(p.msgs))
		}
		if len(p.header.Get("Logplex-Frame-Id")) != 32 {
			t.Errorf("Logplex-Frame-Id = %q", p.header.Get("Logplex-Frame-Id"))
		}
		for _, raw := range p.msgs {
			if msg := parseMessage(t, raw); msg.text != "line "+strconv.Itoa(n) || msg.app != "shop" || msg.proc != "web.1" {
				t.Fatalf("message %d = %+v", n, msg)
			}
			n++
		}
	}
	if posts[0].header.Get("Logplex-Frame-Id") == posts[1].header.Get("Logplex-Frame-Id") {
		t.Error("two batches share a frame id")
	}
}

// A batch that is not answered 2xx is sent again, the same, with the same
// frame id, and counted once; the credentials of the URL are sent, never
// shown.
func TestManager_RetriesAFailedPost(t *testing.T) {
	var up atomic.Bool
	h := newHTTPSReceiver(t, func(n int) int {
		if !up.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	m := startManager(t, h.config())
	raw := strings.Replace(h.srv.URL, "https://", "https://user:hunter2@", 1) + "/drain/path?token=SECRET"
	m.Set("shop", []string{raw})
	m.LogLine("shop", logLine("web.1 v2", "once"))
	waitFor(t, "the drain to fail twice", func() bool { return len(h.got()) >= 2 })
	st := m.Status("shop")[0]
	for _, s := range []string{st.URL, st.LastError} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "SECRET") {
			t.Errorf("status shows a secret: %q", s)
		}
	}
	if st.State != slipway.DrainRetrying || !strings.Contains(st.LastError, "503") || st.URL != "https://***@"+h.srv.Listener.Addr().String()+"/***?***" {
		t.Errorf("status = %+v", st)
	}
	up.Store(true)
	waitFor(t, "a delivery", func() bool { return m.Status("shop")[0].State == slipway.DrainConnected })
	posts := h.got()
	for _, p := range posts {
		if len(p.msgs) != 1 || p.header.Get("Logplex-Frame-Id") != posts[0].header.Get("Logplex-Frame-Id") || p.user != "user" || p.pass != "hunter2" {
			t.Errorf("post = %d messages, frame %q, user %q", len(p.msgs), p.header.Get("Logplex-Frame-Id"), p.user)
		}
	}
	if st := m.Status("shop")[0]; st.Sent != 1 || st.LastError != "" {
		t.Errorf("status = %+v, want 1 sent", st)
	}
}

// A receiver that is down gets, once it is up again, the lines written
// while it was down.
func TestManager_DeliversOnceTheReceiverIsBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down
	m := startManager(t, testConfig())
	m.Set("shop", []string{"syslog://" + addr})
	m.LogLine("shop", logLine("web.1 v1", "while down"))
	waitFor(t, "the drain to retry", func() bool { return m.Status("shop")[0].State == slipway.DrainRetrying })
	if st := m.Status("shop")[0]; !strings.Contains(st.LastError, "refused") || st.Queued != 1 {
		t.Errorf("status = %+v", st)
	}
	ln, err = net.Listen("tcp", addr) // up again
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	r := serveReceiver(t, ln, nil)
	m.LogLine("shop", logLine("web.1 v1", "after"))
	got := waitMessages(t, r, 2)
	if a, b := parseMessage(t, got[0]).text, parseMessage(t, got[1]).text; a != "while down" || b != "after" {
		t.Errorf("got %q then %q", a, b)
	}
}

// With the receiver down, a full buffer drops lines and counts them, and
// writing to the log never waits for the drain.
func TestManager_FullBufferDropsAndCountsWithoutBlocking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig()
	cfg.MaxLines = 10
	m := startManager(t, cfg)
	m.Set("shop", []string{"syslog://" + addr})
	for range 100000 {
		m.LogLine("shop", logLine("web.1 v1", "lost in the flood"))
	}
	st := m.Status("shop")[0]
	if st.Dropped != 100000-10 || st.Queued != 10 {
		t.Errorf("dropped %d, queued %d; want %d, 10", st.Dropped, st.Queued, 100000-10)
	}
	if all := m.All(); len(all) != 1 || all[0].Dropped != st.Dropped || all[0].App != "shop" {
		t.Errorf("All = %+v", all)
	}
}

// A receiver that stops reading holds up its own drain only: the other
// drain of the app gets every line.
func TestManager_AStuckDrainDoesNotHoldTheOthers(t *testing.T) {
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	accepted := make(chan net.Conn, 1)
	go func() { // accepts, never reads
		if c, err := stuck.Accept(); err == nil {
			accepted <- c
		}
	}()
	defer func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	}()
	fast := newReceiver(t, nil)
	cfg := testConfig()
	cfg.WriteTimeout = time.Hour // a write to the stuck one waits as long as it can
	m := startManager(t, cfg)
	m.Set("shop", []string{"syslog://" + stuck.Addr().String(), "syslog://" + fast.addr()})
	text := strings.Repeat("x", 7000)
	total := 0
	for round := range 20 { // 20 × 100 × 7 kB: more than the stuck socket's buffers hold
		for range 100 {
			m.LogLine("shop", logLine("web.1 v1", text))
		}
		total += 100
		waitFor(t, fmt.Sprintf("round %d at the working drain", round), func() bool { return m.Status("shop")[1].Sent == uint64(total) })
	}
	st := m.Status("shop")
	if st[1].Sent != uint64(total) || st[1].Dropped != 0 {
		t.Errorf("the working drain: %+v", st[1])
	}
	if st[0].Sent+uint64(st[0].Queued)+st[0].Dropped != uint64(total) || st[0].Sent == uint64(total) {
		t.Errorf("the stuck drain: sent %d, queued %d, dropped %d of %d", st[0].Sent, st[0].Queued, st[0].Dropped, total)
	}
}

// A drain taken away stops at once: its connection closes and no line
// goes to it; one kept keeps its counts.
func TestManager_SetRemovesAndKeepsDrains(t *testing.T) {
	gone, kept := newReceiver(t, nil), newReceiver(t, nil)
	m := startManager(t, testConfig())
	m.Set("shop", []string{"syslog://" + gone.addr(), "syslog://" + kept.addr()})
	m.LogLine("shop", logLine("web.1 v1", "to both"))
	waitMessages(t, gone, 1)
	waitMessages(t, kept, 1)
	waitFor(t, "the kept drain to count", func() bool { return m.Status("shop")[1].Sent == 1 })
	m.Set("shop", []string{"syslog://" + kept.addr()})
	waitFor(t, "the removed drain's connection to close", func() bool { return gone.closed() == 1 })
	m.LogLine("shop", logLine("web.1 v1", "to one"))
	waitMessages(t, kept, 2)
	if st := m.Status("shop"); len(st) != 1 || st[0].Sent != 2 {
		t.Errorf("status = %+v, want the kept drain with 2 sent", st)
	}
	if got := gone.messages(); len(got) != 1 {
		t.Errorf("the removed drain got %q", got)
	}
	m.Set("shop", nil)
	if st := m.Status("shop"); len(st) != 0 {
		t.Errorf("status = %+v, want none", st)
	}
}

// Shutdown delivers what is buffered before it returns; with the
// receiver down it gives up when its context ends and says how many lines
// were lost.
func TestManager_ShutdownFlushesWithinItsBound(t *testing.T) {
	r := newReceiver(t, nil)
	m := New(testConfig())
	m.Set("shop", []string{"syslog://" + r.addr()}) // before Start, as at boot
	m.Start()
	for i := range 1000 {
		m.LogLine("shop", logLine("web.1 v1", strconv.Itoa(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, r, 1000)
	m.LogLine("shop", logLine("web.1 v1", "after the stop"))
	m.Set("shop", []string{"syslog://" + r.addr()})
	if st := m.Status("shop"); len(st) != 0 {
		t.Errorf("drains after the stop: %+v", st)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ln.Close()
	down := New(testConfig())
	down.Start()
	down.Set("shop", []string{"syslog://" + ln.Addr().String()})
	down.LogLine("shop", logLine("web.1 v1", "never"))
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := down.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "1 log lines not delivered") {
		t.Errorf("Shutdown = %v", err)
	}
}
