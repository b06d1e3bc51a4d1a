package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

// An app's log goes to its drains: a real rsyslogd over TCP (syslog://)
// and over TLS (syslog+tls://, GnuTLS, a test CA), and an HTTPS receiver
// (batched logplex POSTs), each message naming the app and the process;
// `drains` lists them with their secrets masked and /metrics counts them;
// a drain that is down slows neither the app nor `logs`; drains:remove
// stops the delivery.
func TestDrains_IntoRsyslogAndHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca := writeTestCA(t, dir)
	rs := startRsyslog(t, dir, ca)
	https := newDrainReceiver(t, ca)

	s := newServer(t, os.Geteuid())
	s.prepare = func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+ca.caFile) } // trusts the test CA
	s.start()
	work := s.newApp(staticApp("v1")) // python's http.server: a line per request
	s.mustGit(work, "push", s.remote("drained"), "main")
	s.wantServes("drained", "/", "hello from v1")

	if out, err := s.ssh(s.key, "drains:add", "drained", "http://127.0.0.1:1/"); err == nil || !strings.Contains(out, "http:// drains are refused") {
		t.Errorf("an http:// drain: %v\n%s", err, out)
	}
	secretURL := "https://user:hunter2@" + https.addr() + "/drain?token=SECRET"
	for _, u := range []string{"syslog://" + rs.tcpAddr, "syslog+tls://" + rs.tlsAddr, secretURL} {
		if out, err := s.ssh(s.key, "drains:add", "drained", u); err != nil || !strings.Contains(out, "Added drain") {
			t.Fatalf("drains:add %s: %v\n%s", u, err, out)
		}
	}

	s.get("drained", "/drain-marker-1")
	want := func(what string, lines func() []string, marker string) {
		t.Helper()
		waitFor(t, marker+" at "+what, func() bool {
			for _, l := range lines() {
				if strings.HasPrefix(l, "drained web.1 ") && strings.Contains(l, marker) {
					return true
				}
			}
			return false
		})
	}
	want("rsyslog over TCP", rs.tcpLines, "/drain-marker-1")
	want("rsyslog over TLS", rs.tlsLines, "/drain-marker-1")
	want("the HTTPS receiver", https.lines, "/drain-marker-1")
	if h := https.firstPost(); h.Get("Content-Type") != "application/logplex-1" || h.Get("Logplex-Msg-Count") == "" {
		t.Errorf("the POST's headers: %v", h)
	}
	if user, pass := https.credentials(); user != "user" || pass != "hunter2" {
		t.Errorf("the HTTPS drain got user %q, password %q", user, pass)
	}

	out := s.mustSSH("drains", "drained")
	for _, w := range []string{"syslog://" + rs.tcpAddr, "syslog+tls://" + rs.tlsAddr, "https://***@" + https.addr() + "/***?***", "connected"} {
		if !strings.Contains(out, w) {
			t.Errorf("drains lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "SECRET") {
		t.Errorf("drains shows a secret:\n%s", out)
	}
	var list []slipway.LogDrain
	if err := json.Unmarshal([]byte(s.mustSSH("drains", "drained", "--json")), &list); err != nil || len(list) != 3 {
		t.Fatalf("drains --json: %v, %d drains", err, len(list))
	}
	metrics := s.adminGet(t, "/metrics")
	for _, d := range list {
		if !strings.Contains(metrics, fmt.Sprintf(`slipway_log_drain_sent_total{app="drained",drain=%q}`, d.ID)) ||
			!strings.Contains(metrics, fmt.Sprintf(`slipway_log_drain_dropped_total{app="drained",drain=%q} 0`, d.ID)) {
			t.Errorf("/metrics lacks drain %s's counts", d.ID)
		}
	}
	if strings.Contains(metrics, "hunter2") || strings.Contains(metrics, "SECRET") {
		t.Error("/metrics shows a drain's secret")
	}
	// An id on /metrics, which needs no login, is keyed with a key
	// derived from the data dir's drains.key: not the URL's plain
	// SHA-256, which would let one test guessed passwords offline.
	idKey, err := os.ReadFile(filepath.Join(s.dataDir, "drains.key"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(secretURL)); list[2].ID == hex.EncodeToString(sum[:4]) ||
		list[2].ID != slipway.LogDrainID(slipway.LogDrainIDKey(idKey), secretURL) {
		t.Errorf("drain id %s is not the URL's HMAC under the installation's key", list[2].ID)
	}

	// A drain that is down: the app serves, logs shows its lines and the
	// other drains get them; it retries, saying why.
	down := "syslog://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	s.mustSSH("drains:add", "drained", down)
	for i := range 20 {
		if code, _ := s.get("drained", "/drain-marker-2-"+strconv.Itoa(i)); code != http.StatusNotFound { // http.server has no such file
			t.Fatalf("the app answered %d", code)
		}
	}
	waitFor(t, "logs to show the requests", func() bool {
		out, _ := s.ssh(s.key, "logs", "drained", "-n", "50")
		return strings.Contains(out, "/drain-marker-2-19")
	})
	want("rsyslog over TLS", rs.tlsLines, "/drain-marker-2-19")
	want("the HTTPS receiver", https.lines, "/drain-marker-2-19")
	waitFor(t, "the drain that is down to retry", func() bool {
		out, _ := s.ssh(s.key, "drains", "drained")
		return strings.Contains(out, "retrying") && strings.Contains(out, "refused")
	})

	// drains:remove, by id and by URL: those get nothing more.
	s.mustSSH("drains:remove", "drained", list[0].ID)
	s.mustSSH("drains:remove", "drained", secretURL)
	s.mustSSH("drains:remove", "drained", down)
	s.get("drained", "/drain-marker-3")
	want("rsyslog over TLS", rs.tlsLines, "/drain-marker-3")
	for what, lines := range map[string]func() []string{"rsyslog over TCP": rs.tcpLines, "the HTTPS receiver": https.lines} {
		if strings.Contains(strings.Join(lines(), "\n"), "/drain-marker-3") {
			t.Errorf("%s got a line after drains:remove", what)
		}
	}
	if out := s.mustSSH("drains", "drained"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "syslog+tls://") {
		t.Errorf("drains after the removals:\n%s", out)
	}

	// The key of the ids is kept in the data dir: a drain has the same id
	// after a restart.
	s.stop()
	s.start()
	var after []slipway.LogDrain
	if err := json.Unmarshal([]byte(s.mustSSH("drains", "drained", "--json")), &after); err != nil || len(after) != 1 || after[0].ID != list[1].ID {
		t.Errorf("drains after a restart: %+v (%v), want %s still named %s", after, err, list[1].URL, list[1].ID)
	}
}

// adminGet fetches path of the admin API without a token.
func (s *server) adminGet(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.adminAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// testCAFiles are a CA made for the test and a certificate it signed for
// 127.0.0.1 and localhost, as PEM files.
type testCAFiles struct {
	caFile, certFile, keyFile string
	cert                      tls.Certificate
}

func writeTestCA(t *testing.T, dir string) testCAFiles {
	t.Helper()
	ca := testutil.NewTestCA(t)
	f := testCAFiles{cert: ca.Cert}
	f.caFile, f.certFile, f.keyFile = ca.WriteFiles(t, dir)
	return f
}

// rsyslog is a Debian rsyslogd the test runs in the foreground, with
// listeners on 127.0.0.1 over TCP and over TLS, each writing what it gets
// to a file of its own as "APP-NAME PROCID MSG".
type rsyslog struct {
	tcpAddr, tlsAddr string
	tcpOut, tlsOut   string
}

func startRsyslog(t *testing.T, dir string, ca testCAFiles) *rsyslog {
	t.Helper()
	bin := testutil.NeedTool(t, "rsyslogd", "rsyslog", "/usr/sbin/rsyslogd")
	if drivers, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(drivers) == 0 {
		testutil.Missing(t, "no GnuTLS driver for rsyslog: apt-get install rsyslog-gnutls")
	}
	ports := testutil.FreePorts(t, 2)
	rs := &rsyslog{tcpAddr: "127.0.0.1:" + strconv.Itoa(ports[0]), tlsAddr: "127.0.0.1:" + strconv.Itoa(ports[1]),
		tcpOut: filepath.Join(dir, "tcp.log"), tlsOut: filepath.Join(dir, "tls.log")}
	work := filepath.Join(dir, "rsyslog")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global(workDirectory=%q
  defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tls"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="drained" type="string" string="%%app-name%% %%procid%% %%msg%%\n")
ruleset(name="tcp") { action(type="omfile" file=%q template="drained") }
ruleset(name="tls") { action(type="omfile" file=%q template="drained") }
`, work, ca.caFile, ca.certFile, ca.keyFile, ports[0], ports[1], rs.tcpOut, rs.tlsOut)
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := testutil.Command(t, time.Minute, bin, "-N1", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd refuses the test's configuration: %v\n%s", err, out)
	}
	cmd := testutil.Command(t, 10*time.Minute, bin, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // by its pid: the test's own rsyslogd
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rsyslogd's output:\n%s", log.String())
		}
	})
	waitFor(t, "rsyslogd to listen", func() bool {
		for _, addr := range []string{rs.tcpAddr, rs.tlsAddr} {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
	return rs
}

func (rs *rsyslog) tcpLines() []string { return fileLines(rs.tcpOut) }
func (rs *rsyslog) tlsLines() []string { return fileLines(rs.tlsOut) }

func fileLines(path string) []string {
	data, _ := os.ReadFile(path)
	return strings.Split(string(data), "\n")
}

// lockedBuffer is a child's output, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// drainReceiver is an HTTPS drain with the test CA's certificate, keeping
// the messages of the logplex POSTs it gets as "APP-NAME PROCID MSG".
type drainReceiver struct {
	srv        *httptest.Server
	mu         sync.Mutex
	posts      []http.Header
	msgs       []string
	user, pass string
}

func newDrainReceiver(t *testing.T, ca testCAFiles) *drainReceiver {
	d := &drainReceiver{}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		msgs, err := logplexMessages(string(body))
		if err != nil {
			t.Errorf("a POST to the drain: %v", err)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.posts = append(d.posts, r.Header.Clone())
		d.msgs = append(d.msgs, msgs...)
		d.user, d.pass, _ = r.BasicAuth()
	}))
	d.srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.cert}}
	d.srv.StartTLS()
	t.Cleanup(d.srv.Close)
	return d
}

func (d *drainReceiver) addr() string { return d.srv.Listener.Addr().String() }

func (d *drainReceiver) lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.msgs...)
}

func (d *drainReceiver) firstPost() http.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.posts[0]
}

func (d *drainReceiver) credentials() (string, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.user, d.pass
}

// logplexMessages reads a body of octet-counted RFC 5424 messages into
// "APP-NAME PROCID MSG" lines.
func logplexMessages(body string) ([]string, error) {
	var out []string
	for body != "" {
		n, rest, ok := strings.Cut(body, " ")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size > len(rest) {
			return out, fmt.Errorf("not an octet-counted frame at %q", body[:min(len(body), 40)])
		}
		msg := rest[:size]
		body = rest[size:]
		f := strings.SplitN(msg, " ", 8) // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
		if len(f) != 8 {
			return out, fmt.Errorf("not an RFC 5424 message: %q", msg)
		}
		out = append(out, f[3]+" "+f[4]+" "+f[7])
	}
	return out, nil
}
