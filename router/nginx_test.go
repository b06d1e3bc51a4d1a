package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway/internal/httpserver"
	"github.com/slipway/slipway/internal/testutil"
)

// The router held to nginx: the same client byte streams go through
// slipway's edge (internal/httpserver and the router, as `slipway serve`
// runs them) and through Debian's nginx, configured as a keep-alive
// reverse proxy (bench/slipway-vs-nginx.sh's configuration), to one
// scripted app that records every request it reads and answers with a
// scripted byte stream. The corpus (nginx_corpus_test.go) has the
// smuggling variants, pipelining, bodies on GET and HEAD, 1xx, short and
// long bodies, unsolicited bytes, keep-alive and close, HTTP/1.0.
//
// For each case slipway must be as safe as nginx:
//   - the app reads no request through slipway that it does not read
//     through nginx (compared for a well-behaved app);
//   - no byte of one client's exchange reaches another: each answer names
//     the request it answers, and after every case a second client (the
//     victim) asks for a page of its own on a new connection, while the
//     router's connections to the app are kept: it must get its own page
//     or none, and the first client never gets the victim's.

// tagged is how the scripted app marks an answer with the request it
// answers.
var tagged = regexp.MustCompile(`<<([^<>]*)>>`)

// appScript is how the scripted app answers a request it has read.
type appScript struct {
	name string
	// answer returns the bytes to write for req, whose target is path
	// (the tag its answer carries), and whether to close the connection
	// after them.
	answer func(req *http.Request, tag string) (out string, close bool)
	// ignoresBody makes the app leave request bodies unread, as Python's
	// http.server does for a GET: a body is then read as the next request.
	ignoresBody bool
}

// scriptedApp is one case's app, behind both proxies: its script, and
// what it read.
type scriptedApp struct {
	ln     net.Listener
	script appScript

	mu    sync.Mutex
	got   []string // "METHOD target" of each request read whole
	conns map[net.Conn]bool
}

func newScriptedApp(t *testing.T, script appScript) *scriptedApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &scriptedApp{ln: ln, script: script, conns: map[net.Conn]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.conns[c] = true
			a.mu.Unlock()
			go a.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		a.reset()
	})
	return a
}

func (a *scriptedApp) addr() string { return a.ln.Addr().String() }

// reset closes every connection to the app and returns what it read
// since the last reset.
func (a *scriptedApp) reset() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.conns {
		c.Close()
		delete(a.conns, c)
	}
	got := a.got
	a.got = nil
	return got
}

func (a *scriptedApp) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		s := a.script
		if req.Header.Get("Expect") == "100-continue" {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		// A naive app leaves the body in the stream, to be read as the
		// next request; any other reads a request whole before it acts.
		if !s.ignoresBody {
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
		a.mu.Lock()
		a.got = append(a.got, req.Method+" "+req.RequestURI)
		a.mu.Unlock()
		tag := req.URL.Path
		if u, err := url.PathUnescape(tag); err == nil {
			tag = u
		}
		out, closing := s.answer(req, tag)
		if _, err := io.WriteString(c, out); err != nil || closing {
			return
		}
	}
}

// nginxProxy runs Debian's nginx in front of apps until the test ends,
// and returns its address: a request for host cNNN.apps.test goes to
// apps[NNN].
func nginxProxy(t *testing.T, apps []*scriptedApp) string {
	t.Helper()
	bin := testutil.NeedTool(t, "nginx", "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	// The listening socket is made here and handed over (nginx takes
	// inherited sockets from $NGINX), so no port is guessed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;" // its workers reach the test's temporary directory
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process on;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log crit;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	keepalive_timeout 120s;
	map_hash_bucket_size 128;
%[3]s
	server {
		listen %[4]s;
		location / {
			proxy_pass http://$app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $remote_addr;
			proxy_set_header X-Forwarded-Host $host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Real-IP $remote_addr;
		}
	}
}
`, user, dir, upstreams(apps), ln.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	cmd.ExtraFiles = []*os.File{f} // fd 3
	cmd.Env = append(os.Environ(), "NGINX=3;")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := ln.Addr().String()
	// The socket listens already (it was handed over), so a dial proves
	// nothing: nginx is ready once it answers a request, unless it exits
	// first (a bad configuration).
	answered := make(chan string, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			answered <- ""
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /ready HTTP/1.1\r\nHost: nowhere.test\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		answered <- string(b)
	}()
	select {
	case err := <-exited:
		t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
	case got := <-answered:
		if !strings.HasPrefix(got, "HTTP/1.1 ") {
			t.Fatalf("nginx did not answer on %s (%q)\n%s", addr, got, stderr.String())
		}
	}
	return addr
}

// upstreams is nginx's configuration of an upstream group per app, each
// keeping connections alive, and the map from a Host to its group.
func upstreams(apps []*scriptedApp) string {
	var b strings.Builder
	// A host of no case goes to the last app, which no case has.
	b.WriteString(fmt.Sprintf("\tmap $host $app {\n\t\tdefault c%03d;\n", len(apps)-1))
	for i := range apps {
		fmt.Fprintf(&b, "\t\tc%03d.apps.test c%03[1]d;\n", i)
	}
	b.WriteString("\t}\n")
	for i, a := range apps {
		fmt.Fprintf(&b, "\tupstream c%03d {\n\t\tserver %s;\n\t\tkeepalive 64;\n\t}\n", i, a.addr())
	}
	return b.String()
}

// slipwayEdge runs the router behind slipway's own edge server, as
// `slipway serve` does, with app cNNN's pool on apps[NNN]; it returns the
// address.
func slipwayEdge(t *testing.T, apps []*scriptedApp) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	r := New(Config{Domain: testDomain, AffinityKey: testKey, Logger: log})
	t.Cleanup(r.Close)
	for i, a := range apps {
		name := fmt.Sprintf("c%03d", i)
		r.SetLive(&Pool{App: name, Release: "v1", Instances: []*Instance{{ID: "web.1", Addr: a.addr()}}})
	}
	srv := httpserver.New("http", "127.0.0.1:0", r, log)
	srv.Lean = leanServer(t)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	return srv.Addr()
}

// quiet is how long a client waits for more of an answer once none comes:
// a stream whose body never ends leaves the proxy waiting for it.
const quiet = 400 * time.Millisecond

// converse writes stream on a new connection to addr and returns what came
// back until the proxy closed the connection or fell quiet.
func converse(t *testing.T, addr, stream string) string {
	t.Helper()
	return converseQuiet(t, addr, stream, quiet)
}

// converseQuiet is converse with the wait for more given.
func converseQuiet(t *testing.T, addr, stream string, quiet time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, stream); err != nil {
		// The proxy may close before reading all of a stream it refused.
		if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
			t.Fatalf("write: %v", err)
		}
	}
	var got bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return got.String()
		}
	}
}

// tags returns the tags of the answers in what a client got.
func tags(got string) []string {
	var out []string
	for _, m := range tagged.FindAllStringSubmatch(got, -1) {
		out = append(out, m[1])
	}
	return out
}

// outcome is what one proxy did with one case.
type outcome struct {
	client, victim string   // what each client got
	requests       []string // what the app read, in order
}

// runCase sends a case's stream (for host) through the proxy at addr,
// then the victim's request, and returns what happened.
func runCase(t *testing.T, app *scriptedApp, addr, host, stream, victim string) outcome {
	t.Helper()
	var o outcome
	o.client = converse(t, addr, stream)
	o.victim = converse(t, addr, "GET "+victim+" HTTP/1.1\r\nHost: "+host+"\r\nCookie: session=VICTIM\r\nConnection: close\r\n\r\n")
	o.requests = app.reset()
	return o
}

func TestRouter_AsSafeAsNginx(t *testing.T) {
	eachServer(t, func(t *testing.T) {
		type testCase struct {
			name   string
			stream string
			script appScript
			// compare: the app is well-behaved, so the requests it reads
			// through each proxy are compared.
			compare bool
		}
		var cases []testCase
		for _, s := range clientStreams {
			cases = append(cases, testCase{"client/" + s.name, s.stream + endStream, wellBehaved, true})
		}
		for _, script := range appScripts {
			for _, s := range streamsForScripts {
				cases = append(cases, testCase{"app/" + script.name + "/" + s.name, s.stream + endStream, script, false})
			}
		}
		if len(clientStreams) < 150 || len(appScripts) < 30 {
			t.Errorf("the corpus has %d client streams and %d app scripts, want at least 150 and 30", len(clientStreams), len(appScripts))
		}
		// Each case has its app and its host, so that cases run side by
		// side (most of a case is waiting) and none inherits another's
		// connections.
		apps := make([]*scriptedApp, len(cases), len(cases)+1)
		for i, c := range cases {
			apps[i] = newScriptedApp(t, c.script)
		}
		apps = append(apps, newScriptedApp(t, wellBehaved)) // for nginx's requests for other hosts
		nginx := nginxProxy(t, apps)
		slipway := slipwayEdge(t, apps)

		run := func(i int, c testCase) {
			t.Run(c.name, func(t *testing.T) {
				// As long as the corpus's cxxx.apps.test, so that every
				// Content-Length stays true.
				host := fmt.Sprintf("c%03d.apps.test", i)
				stream := strings.ReplaceAll(c.stream, "cxxx.apps.test", host)
				victim := fmt.Sprintf("/victim-%d", i)
				viaS := runCase(t, apps[i], slipway, host, stream, victim)
				viaN := runCase(t, apps[i], nginx, host, stream, victim)
				for _, tag := range tags(viaS.client) {
					if strings.HasPrefix(tag, "/victim") {
						t.Errorf("through slipway the client got the victim's answer:\n%q", viaS.client)
					}
				}
				for _, tag := range tags(viaS.victim) {
					if tag != victim {
						t.Errorf("through slipway the victim got another's answer %q:\n%q\n(through nginx: %q)", tag, viaS.victim, viaN.victim)
					}
				}
				if c.compare {
					passed := map[string]int{}
					for _, r := range viaN.requests {
						passed[normalTarget(r)]++
					}
					for _, r := range viaS.requests {
						// The stream's last request is the client's own,
						// whole: passing it after one nginx refused (and
						// closed the connection at) hides nothing.
						if r == "GET /end" {
							continue
						}
						if passed[normalTarget(r)] == 0 {
							t.Errorf("through slipway the app read %q, which nginx did not pass\nslipway: %q\nnginx:   %q\nclient through slipway got %q\nthrough nginx %q",
								r, viaS.requests, viaN.requests, viaS.client, viaN.client)
						}
						passed[normalTarget(r)]--
					}
				}
				if testing.Verbose() && (statusLines(viaS.client) != statusLines(viaN.client) || statusLines(viaS.victim) != statusLines(viaN.victim)) {
					t.Logf("differs: slipway: app read %q; client got %s, victim %s\nnginx:   app read %q; client got %s, victim %s",
						viaS.requests, statusLines(viaS.client), statusLines(viaS.victim), viaN.requests, statusLines(viaN.client), statusLines(viaN.victim))
				}
			})
		}
		// t.Run may be called from several goroutines at once.
		next := make(chan int)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for i := range next {
					run(i, cases[i])
				}
			})
		}
		for i := range cases {
			next <- i
		}
		close(next)
		wg.Wait()
	})
}

// normalTarget is a request the app read as "METHOD target", the target
// unescaped: nginx passes it as it came, net/http escapes what must be.
func normalTarget(r string) string {
	method, target, _ := strings.Cut(r, " ")
	if u, err := url.PathUnescape(target); err == nil {
		target = u
	}
	return method + " " + target
}

// statusLines returns the status lines in what a client got.
func statusLines(got string) string {
	var out []string
	for _, m := range regexp.MustCompile(`HTTP/1\.[01] \d\d\d`).FindAllString(got, -1) {
		out = append(out, m[9:])
	}
	return "[" + strings.Join(out, " ") + "]"
}
