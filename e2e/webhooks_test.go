package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookPost is one POST a test receiver got.
type hookPost struct {
	path   string
	header http.Header
	body   []byte
}

// hookReceiver is an HTTPS server in the test that keeps every POST and
// answers 200, but 503 to the first `fail` POSTs to /flaky.
type hookReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hookPost
	fail int
}

func newHookReceiver(t *testing.T, fail int) *hookReceiver {
	r := &hookReceiver{fail: fail}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookPost{req.URL.Path, req.Header.Clone(), body})
		failing := req.URL.Path == "/flaky" && r.fail > 0
		if failing {
			r.fail--
		}
		r.mu.Unlock()
		if failing {
			http.Error(w, "not now", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// posts returns the POSTs to path so far.
func (r *hookReceiver) posts(path string) []hookPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hookPost
	for _, p := range r.got {
		if p.path == path {
			out = append(out, p)
		}
	}
	return out
}

// caFile writes the receiver's certificate, its own CA, as a PEM file,
// for slipway's SSL_CERT_FILE.
func (r *hookReceiver) caFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// webhookEvent is the payload as a receiver reads it.
type webhookEvent struct {
	Event, Status, App, Release, Commit, Description, By, At, URL string
	RollbackOf                                                    string `json:"rollback_of"`
}

var secretLine = regexp.MustCompile(`(?m)^([0-9a-f]{64})$`)

// A user adds two webhooks over ssh, one for every event and one for
// config changes whose receiver fails twice; a push, a config:set and a
// rollback reach them over HTTPS, signed with the secrets webhooks:add
// showed, which slipway's log never holds; `webhooks NAME` lists the
// deliveries.
func TestWebhooks_DeployRollbackConfigSigned(t *testing.T) {
	rcv := newHookReceiver(t, 2)
	s := newServer(t, os.Geteuid())
	// How an operator makes slipway trust a private CA: Go reads
	// SSL_CERT_FILE for the system's roots.
	ca := rcv.caFile(t)
	s.prepare = func(cmd *exec.Cmd) { cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+ca) }
	s.start()
	const app = "hooked"
	s.mustSSH("apps:create", app)
	out := s.mustSSH("webhooks:add", app, rcv.srv.URL+"/hook")
	m := secretLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "shown this once") {
		t.Fatalf("webhooks:add printed no secret:\n%s", out)
	}
	secret := m[1]
	flakySecret := "a-secret-the-receiver-knows-0123"
	out = s.mustSSH("webhooks:add", app, rcv.srv.URL+"/flaky", "--events", "config", "--secret", flakySecret)
	if strings.Contains(out, flakySecret) {
		t.Errorf("webhooks:add echoed the secret given:\n%s", out)
	}
	if out, err := s.ssh(s.key, "webhooks:add", app, "ftp://example.com/x"); err == nil || !strings.Contains(out, "not an http or https URL") {
		t.Errorf("webhooks:add with an ftp URL: %v\n%s", err, out)
	}

	dir := s.newApp(staticApp("v1"))
	sha := strings.TrimSpace(s.mustGit(dir, "rev-parse", "HEAD"))
	s.mustGit(dir, "push", "-q", s.remote(app), "main")
	s.mustSSH("config:set", app, "GREETING=hello")
	s.mustSSH("rollback", app)

	waitFor(t, "a deploy, a config and a rollback event at /hook", func() bool { return len(rcv.posts("/hook")) >= 3 })
	waitFor(t, "a config event at /flaky, on its third attempt", func() bool { return len(rcv.posts("/flaky")) >= 3 })
	hook := rcv.posts("/hook")
	want := []webhookEvent{
		{Event: "deploy", Status: "succeeded", Release: "v1", Description: "first version"},
		{Event: "config", Status: "succeeded", Release: "v2", Description: "Set GREETING"},
		{Event: "rollback", Status: "succeeded", Release: "v3", Description: "Rollback to v1", RollbackOf: "v1"},
	}
	if len(hook) != len(want) {
		t.Fatalf("%d POSTs to /hook, want %d", len(hook), len(want))
	}
	for i, p := range hook {
		ev := checkPost(t, p, secret)
		w := want[i]
		if ev.Event != w.Event || ev.Status != w.Status || ev.Release != w.Release || ev.Description != w.Description || ev.RollbackOf != w.RollbackOf ||
			ev.App != app || ev.Commit != sha || ev.By == "" || ev.URL != "http://"+app+"."+testDomain+":"+port(s.httpAddr)+"/" {
			t.Errorf("POST %d: %+v, want %+v of %s at %s", i, ev, w, app, sha)
		}
	}
	if !strings.Contains(checkPost(t, hook[0], secret).By, "SHA256:") {
		t.Errorf("the deploy's by = %q, want the pusher's key", checkPost(t, hook[0], secret).By)
	}
	flaky := rcv.posts("/flaky")
	if len(flaky) != 3 {
		t.Errorf("%d POSTs to /flaky, want 3: two refused, the third taken; only config events", len(flaky))
	}
	for _, p := range flaky {
		if ev := checkPost(t, p, flakySecret); ev.Event != "config" || p.header.Get("X-Slipway-Delivery") != flaky[0].header.Get("X-Slipway-Delivery") {
			t.Errorf("/flaky got %+v, delivery %q: want the one config delivery, three times", ev, p.header.Get("X-Slipway-Delivery"))
		}
	}

	var list string
	waitFor(t, "webhooks to list every delivery", func() bool {
		list = s.mustSSH("webhooks", app)
		return strings.Count(list, " 200 ") >= 4
	})
	squeezed := regexp.MustCompile(`  +`).ReplaceAllString(list, " | ")
	for _, w := range []string{
		rcv.srv.URL + "/hook\n | events: deploy,rollback,crash,config\n | secret: ********",
		rcv.srv.URL + "/flaky\n | events: config\n",
		" | deploy | v1 | 200 | 1 | ", " | config | v2 | 200 | 1 | ", " | rollback | v3 | 200 | 1 | ",
		" | config | v2 | 200 | 3 | ",
	} {
		if !strings.Contains(squeezed, w) {
			t.Errorf("webhooks %s:\n%s\nwant it to hold (runs of spaces as |) %q", app, list, w)
		}
	}
	if strings.Contains(list, secret) || strings.Contains(list, flakySecret) {
		t.Errorf("webhooks %s shows a secret:\n%s", app, list)
	}
	if out := s.mustSSH("webhooks:remove", app, rcv.srv.URL+"/flaky"); !strings.Contains(out, "Removed the webhook") {
		t.Errorf("webhooks:remove: %s", out)
	}
	if list := s.mustSSH("webhooks", app); strings.Contains(list, "/flaky") {
		t.Errorf("after webhooks:remove:\n%s", list)
	}
	s.stop()
	if log := s.logText(); strings.Contains(log, secret) || strings.Contains(log, flakySecret) {
		t.Errorf("slipway's log holds a webhook's secret:\n%s", log)
	}
	if log := s.logText(); !strings.Contains(log, "webhook delivered") {
		t.Errorf("slipway's log says nothing of the deliveries:\n%s", log)
	}
}

// checkPost checks p's headers and signature under secret, and returns
// its payload.
func checkPost(t *testing.T, p hookPost, secret string) webhookEvent {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(p.body)
	if got, want := p.header.Get("X-Hub-Signature-256"), "sha256="+hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("POST %s: X-Hub-Signature-256 = %q, want %q", p.path, got, want)
	}
	var ev webhookEvent
	if err := json.Unmarshal(p.body, &ev); err != nil {
		t.Fatalf("POST %s: %v\n%s", p.path, err, p.body)
	}
	if at, err := time.Parse(time.RFC3339, ev.At); err != nil || at.Location() != time.UTC {
		t.Errorf("POST %s: at = %q, want RFC 3339 in UTC", p.path, ev.At)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "slipway", "X-Slipway-Event": ev.Event} {
		if got := p.header.Get(k); got != want {
			t.Errorf("POST %s: %s = %q, want %q", p.path, k, got, want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(p.header.Get("X-Slipway-Delivery")) {
		t.Errorf("POST %s: X-Slipway-Delivery = %q", p.path, p.header.Get("X-Slipway-Delivery"))
	}
	return ev
}
