package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
)

// memStore is a Store in memory.
type memStore struct {
	mu         sync.Mutex
	hooks      []slipway.Webhook
	deliveries map[int64][]slipway.WebhookDelivery
}

func (s *memStore) add(app, url, secret string, events ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(events) == 0 {
		events = slipway.WebhookEvents
	}
	id := int64(len(s.hooks) + 1)
	s.hooks = append(s.hooks, slipway.Webhook{ID: id, App: app, URL: url, Secret: secret, Events: events})
	return id
}

func (s *memStore) ListWebhooks(_ context.Context, app string) ([]slipway.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slipway.Webhook
	for _, h := range s.hooks {
		if h.App == app {
			out = append(out, h)
		}
	}
	return out, nil
}

func (s *memStore) AddWebhookDelivery(_ context.Context, id int64, d slipway.WebhookDelivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deliveries == nil {
		s.deliveries = map[int64][]slipway.WebhookDelivery{}
	}
	s.deliveries[id] = append(s.deliveries[id], d)
	return nil
}

// delivered waits until webhook id has n deliveries recorded and returns
// them.
func (s *memStore) delivered(t *testing.T, id int64, n int) []slipway.WebhookDelivery {
	t.Helper()
	var got []slipway.WebhookDelivery
	testutil.WaitFor(t, fmt.Sprintf("%d deliveries recorded of webhook %d", n, id), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		got = append([]slipway.WebhookDelivery(nil), s.deliveries[id]...)
		return len(got) >= n
	})
	return got
}

// received is a request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an HTTP(S) server that records what it gets and answers
// with the statuses of answers in turn, then 200.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
}

func newReceiver(t *testing.T, tls bool, answers ...int) *receiver {
	r := &receiver{answers: answers}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		code := http.StatusOK
		if len(r.answers) > 0 {
			code, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		if code == http.StatusFound {
			http.Redirect(w, req, "/elsewhere", code)
			return
		}
		w.WriteHeader(code)
	})
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// start returns a started Notifier of store that trusts client's
// servers, with no waits between attempts unless cfg says otherwise, and
// its log; the test's end closes it.
func start(t *testing.T, store Store, cfg Config) (*Notifier, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	cfg.Store = store
	cfg.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: &log}, nil))
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 0 }
	}
	n := New(cfg)
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, &log
}

// syncWriter makes a writer safe for the log's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

var deployEvent = slipway.WebhookEvent{Event: slipway.WebhookDeploy, Status: slipway.WebhookSucceeded, App: "shop", Release: "v4",
	Commit: "3f2a9c1b", Description: "Fix the cart", By: "alice", URL: "http://shop.example.com/"}

// A delivery is a signed JSON POST over HTTPS with slipway's headers, to
// the webhooks that want its kind only.
func TestNotifier_SignsAndPostsOverTLS(t *testing.T) {
	rcv := newReceiver(t, true)
	other := newReceiver(t, true)
	store := &memStore{}
	const secret = "0123456789abcdef-the-secret"
	id := store.add("shop", rcv.srv.URL+"/hooks/T0K3N", secret)
	store.add("shop", other.srv.URL+"/crash-only", "s2", slipway.WebhookCrash)
	store.add("blog", other.srv.URL+"/blog", "s3")
	n, log := start(t, store, Config{Client: rcv.srv.Client()})
	n.Notify(t.Context(), deployEvent)
	ds := store.delivered(t, id, 1)
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests received, want 1", len(got))
	}
	req := got[0]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(req.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.header.Get("X-Hub-Signature-256") != want {
		t.Errorf("X-Hub-Signature-256 = %q, want %q", req.header.Get("X-Hub-Signature-256"), want)
	}
	if !Verify(secret, req.body, req.header.Get("X-Hub-Signature-256")) || Verify("other", req.body, req.header.Get("X-Hub-Signature-256")) {
		t.Error("Verify disagrees with the signature")
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "slipway", "X-Slipway-Event": "deploy", "X-Slipway-Delivery": ds[0].ID} {
		if v := req.header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	var ev slipway.WebhookEvent
	if err := json.Unmarshal(req.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "deploy" || ev.Status != "succeeded" || ev.App != "shop" || ev.Release != "v4" || ev.By != "alice" || ev.At.IsZero() || ev.At.Location() != time.UTC {
		t.Errorf("payload = %+v", ev)
	}
	if d := ds[0]; !d.OK() || d.StatusCode != 200 || d.Attempts != 1 || d.Event != "deploy" || d.Release != "v4" || d.Error != "" || len(d.ID) != 36 {
		t.Errorf("delivery = %+v", d)
	}
	n.Shutdown(t.Context())
	if got := other.requests(); len(got) != 0 {
		t.Errorf("the crash-only webhook and another app's got %d requests", len(got))
	}
	if strings.Contains(log.String(), secret) || strings.Contains(log.String(), "T0K3N") {
		t.Errorf("the log holds the secret or the URL's path:\n%s", log)
	}
}

// A receiver that fails twice gets the same delivery a third time, after
// the backoff's waits.
func TestNotifier_RetriesWithBackoff(t *testing.T) {
	rcv := newReceiver(t, false, 503, 502)
	store := &memStore{}
	id := store.add("shop", rcv.srv.URL, "s")
	var mu sync.Mutex
	var waits []int
	n, _ := start(t, store, Config{Backoff: func(n int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, n)
		return time.Millisecond
	}})
	n.Notify(t.Context(), deployEvent)
	d := store.delivered(t, id, 1)[0]
	got := rcv.requests()
	if len(got) != 3 || d.Attempts != 3 || d.StatusCode != 200 || !d.OK() {
		t.Fatalf("%d requests, delivery %+v: want 3 attempts, the last answered 200", len(got), d)
	}
	for _, r := range got {
		if r.header.Get("X-Slipway-Delivery") != d.ID || !bytes.Equal(r.body, got[0].body) {
			t.Errorf("attempt with delivery %q: want the same delivery %q and body each time", r.header.Get("X-Slipway-Delivery"), d.ID)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 || waits[0] != 1 || waits[1] != 2 {
		t.Errorf("backoff asked for retries %v, want [1 2]", waits)
	}
}

// Notifier is what the application layer's Config.Webhooks holds.
var _ interface {
	Notify(context.Context, slipway.WebhookEvent)
} = (*Notifier)(nil)

func TestDefaultBackoff_Doubles(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 4; n++ {
		got = append(got, DefaultBackoff(n))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !equal(got, want) {
		t.Errorf("DefaultBackoff = %v, want %v", got, want)
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// What the attempts end with: retried up to the bound on a server's
// error, once on the receiver's refusal, a redirect never followed, a
// silent receiver timed out.
func TestNotifier_GivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []int
		attempts int
		status   int
		err      string
	}{
		{"server error", []int{500, 500, 500, 500, 500, 500}, 3, 500, ""},
		{"refused", []int{404}, 1, 404, ""},
		{"bad signature", []int{401}, 1, 401, ""},
		{"too many requests", []int{429, 200}, 2, 200, ""},
		{"redirect", []int{302}, 1, 302, "a redirect, not followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, false, tc.answers...)
			store := &memStore{}
			id := store.add("shop", rcv.srv.URL+"/hook", "s")
			n, _ := start(t, store, Config{Attempts: 3})
			n.Notify(t.Context(), deployEvent)
			d := store.delivered(t, id, 1)[0]
			if d.Attempts != tc.attempts || d.StatusCode != tc.status || !strings.Contains(d.Error, tc.err) {
				t.Errorf("delivery = %+v, want %d attempts, status %d, error %q", d, tc.attempts, tc.status, tc.err)
			}
			for _, r := range rcv.requests() {
				if r.header.Get("X-Slipway-Event") == "" {
					t.Error("a request without X-Slipway-Event: the redirect was followed?")
				}
			}
			if len(rcv.requests()) != tc.attempts {
				t.Errorf("%d requests, want %d", len(rcv.requests()), tc.attempts)
			}
		})
	}
}

func TestNotifier_TimesOutEachAttempt(t *testing.T) {
	silent := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-silent:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(silent) })
	store := &memStore{}
	id := store.add("shop", srv.URL, "s")
	n, _ := start(t, store, Config{Attempts: 2, Timeout: 50 * time.Millisecond})
	n.Notify(t.Context(), deployEvent)
	d := store.delivered(t, id, 1)[0]
	if d.Attempts != 2 || d.StatusCode != 0 || d.Error != "no answer within 50ms" || d.OK() {
		t.Errorf("delivery = %+v, want 2 attempts that timed out", d)
	}
}

func TestNotifier_NoReceiver(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/secret-path"
	srv.Close() // nothing listens there now
	store := &memStore{}
	id := store.add("shop", url, "s")
	n, log := start(t, store, Config{Attempts: 2})
	n.Notify(t.Context(), deployEvent)
	d := store.delivered(t, id, 1)[0]
	if d.Attempts != 2 || !strings.Contains(d.Error, "connection refused") || strings.Contains(d.Error, "secret-path") {
		t.Errorf("delivery = %+v, want 2 refused attempts, the URL's path left out", d)
	}
	n.Close()
	if strings.Contains(log.String(), "secret-path") {
		t.Errorf("the log holds the URL's path:\n%s", log)
	}
}

// Notify never blocks: beyond the queue, events are dropped and counted.
func TestNotifier_DropsWhenTheQueueIsFull(t *testing.T) {
	rcv := newReceiver(t, false)
	store := &memStore{}
	id := store.add("shop", rcv.srv.URL, "s")
	var log bytes.Buffer
	n := New(Config{Store: store, QueueSize: 2, Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &log}, nil))})
	t.Cleanup(func() { n.Close() })
	for range 5 { // not started: nothing takes them from the queue
		n.Notify(t.Context(), deployEvent)
	}
	if got := n.Dropped(); got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
	if c := strings.Count(log.String(), "webhook event dropped"); c != 2 {
		t.Errorf("%d log lines of drops, want 2 (the 1st and the 2nd):\n%s", c, log.String())
	}
	n.Start()
	store.delivered(t, id, 2)
	n.Shutdown(t.Context())
	n.Notify(t.Context(), deployEvent)
	if got := n.Dropped(); got != 4 {
		t.Errorf("Dropped after Shutdown = %d, want 4", got)
	}
}

// Shutdown lets an attempt finish, then ends the delivery without
// waiting out its backoff.
func TestNotifier_ShutdownEndsRetries(t *testing.T) {
	rcv := newReceiver(t, false, 503, 503)
	store := &memStore{}
	id := store.add("shop", rcv.srv.URL, "s")
	n, _ := start(t, store, Config{Backoff: func(int) time.Duration { return time.Hour }})
	n.Notify(t.Context(), deployEvent)
	testutil.WaitFor(t, "the first attempt", func() bool { return len(rcv.requests()) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	d := store.delivered(t, id, 1)[0]
	if d.Attempts != 1 || d.StatusCode != 503 || !strings.Contains(d.Error, "not retried: slipway stopped") {
		t.Errorf("delivery = %+v", d)
	}
}

// An app whose receiver never gets an answer back (503 with an hour
// between tries) holds PerApp deliveries at most, its further events are
// dropped, and another app's events are delivered meanwhile.
func TestNotifier_OneAppsStuckReceiverStopsNoOther(t *testing.T) {
	stuck := newReceiver(t, false, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	ok := newReceiver(t, false)
	store := &memStore{}
	store.add("evil", stuck.srv.URL, "s")
	id := store.add("shop", ok.srv.URL, "s")
	n, _ := start(t, store, Config{Workers: PerApp + 1, Backoff: func(int) time.Duration { return time.Hour }})
	evil := deployEvent
	evil.App = "evil"
	for range PerApp + 3 {
		n.Notify(t.Context(), evil)
	}
	testutil.WaitFor(t, "the stuck app's first attempts", func() bool { return len(stuck.requests()) == PerApp })
	testutil.WaitFor(t, "its further events dropped", func() bool { return n.Dropped() == 3 })
	n.Notify(t.Context(), deployEvent)
	if d := store.delivered(t, id, 1)[0]; d.StatusCode != 200 {
		t.Errorf("shop's delivery = %+v", d)
	}
}
