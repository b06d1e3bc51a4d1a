package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway"
)

// Defaults of a Config.
const (
	DefaultAttempts  = 5
	DefaultTimeout   = 10 * time.Second
	DefaultQueueSize = 256
	DefaultWorkers   = 32
	// PerApp is how many deliveries of one app run at once at most: a
	// receiver that never answers holds a slot for a minute (every try
	// and wait), and an app's own events beyond it are dropped, so that no
	// app's receiver, down or hostile, stops the others' deliveries.
	PerApp = 4
)

// DefaultBackoff is the wait before retry n (1 before the second
// attempt): 1 s, doubling: 1 s, 2 s, 4 s, 8 s.
func DefaultBackoff(n int) time.Duration { return time.Second << min(n-1, 10) }

// Store is what a Notifier needs of the history (package sqlite).
type Store interface {
	ListWebhooks(ctx context.Context, app string) ([]slipway.Webhook, error)
	AddWebhookDelivery(ctx context.Context, id int64, d slipway.WebhookDelivery) error
}

// Config configures a Notifier.
type Config struct {
	Store Store
	// Client sends the POSTs; nil makes one from http.DefaultTransport's
	// settings (the proxy of the environment, the system's CAs, which
	// SSL_CERT_FILE changes) that never reaches a link-local or metadata
	// address, directly or through the proxy (guard.go). Whichever it is,
	// redirects are not followed.
	Client *http.Client
	// Attempts bounds the tries of one delivery (DefaultAttempts when 0).
	Attempts int
	// Timeout bounds each attempt, answer included (DefaultTimeout when 0).
	Timeout time.Duration
	// Backoff is the wait before retry n (DefaultBackoff when nil).
	Backoff func(n int) time.Duration
	// QueueSize is how many events wait for delivery at most; more are
	// dropped (DefaultQueueSize when 0).
	QueueSize int
	// Workers is how many deliveries run at once (DefaultWorkers when 0).
	Workers int
	Logger  *slog.Logger // slog.Default when nil
}

// Notifier delivers events to the apps' webhooks in the background. New,
// then Start; Shutdown or Close to stop.
type Notifier struct {
	cfg    Config
	client *http.Client
	logger *slog.Logger

	mu     sync.RWMutex // held to send to queue, and to close intake
	closed bool
	queue  chan slipway.WebhookEvent

	started  atomic.Bool
	stopOnce sync.Once
	stopping chan struct{}      // closed by Shutdown: deliver what is queued, retry nothing
	ctx      context.Context    // the attempts', cancelled when they must end now
	cancel   context.CancelFunc //
	sem      chan struct{}      // a slot per delivery running
	busyMu   sync.Mutex
	busy     map[string]int // deliveries running, by app
	wg       sync.WaitGroup // the dispatcher and the deliveries
	dropped  atomic.Int64
}

// New returns a Notifier for cfg.
func New(cfg Config) *Notifier {
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var client http.Client
	if cfg.Client != nil {
		client = *cfg.Client
	} else {
		client.Transport = newTransport(http.ProxyFromEnvironment, net.DefaultResolver.LookupNetIP)
	}
	// A redirect's target is not the URL its owner gave: not followed.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{cfg: cfg, client: &client, logger: cfg.Logger.With("component", "webhooks"),
		queue: make(chan slipway.WebhookEvent, cfg.QueueSize), stopping: make(chan struct{}),
		ctx: ctx, cancel: cancel, sem: make(chan struct{}, cfg.Workers), busy: map[string]int{}}
}

// Start starts delivering: events notified before it waited in the queue.
func (n *Notifier) Start() error {
	if n.started.Swap(true) {
		return nil
	}
	n.wg.Add(1)
	go n.run()
	return nil
}

// Notify queues ev for the webhooks of ev.App that want ev.Event and
// returns at once: it never blocks the use case that calls it. When the
// queue is full, or the Notifier stopped, ev is dropped and counted
// (Dropped). The delivery outlives ctx.
func (n *Notifier) Notify(_ context.Context, ev slipway.WebhookEvent) {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = ev.At.UTC()
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		n.drop(ev, "slipway is stopping")
		return
	}
	select {
	case n.queue <- ev:
	default:
		n.drop(ev, "too many events wait for delivery")
	}
}

// drop counts a dropped event and says so in the log, at the 1st, 2nd,
// 4th, 8th… drop, so that a flood does not flood the log too.
func (n *Notifier) drop(ev slipway.WebhookEvent, why string) {
	if c := n.dropped.Add(1); c&(c-1) == 0 {
		n.logger.Warn("webhook event dropped: "+why, "app", ev.App, "event", ev.Event, "release", ev.Release, "dropped_total", c)
	}
}

// Dropped returns how many events were dropped.
func (n *Notifier) Dropped() int64 { return n.dropped.Load() }

// Shutdown stops taking events, delivers those queued and lets the
// attempts in flight finish, without retrying, until ctx ends; then it
// cancels what is left and returns ctx's error.
func (n *Notifier) Shutdown(ctx context.Context) error {
	n.stop()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

// Close stops at once: the attempts in flight are cancelled.
func (n *Notifier) Close() error {
	n.stop()
	n.cancel()
	n.wg.Wait()
	return nil
}

// stop closes the intake and tells the dispatcher and the retries.
func (n *Notifier) stop() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.stopOnce.Do(func() { close(n.stopping) })
}

// run hands each queued event to dispatch until stop, and then the
// events still queued.
func (n *Notifier) run() {
	defer n.wg.Done()
	for {
		select {
		case ev := <-n.queue:
			n.dispatch(ev)
		case <-n.stopping:
			for {
				select {
				case ev := <-n.queue:
					n.dispatch(ev)
				default:
					return
				}
			}
		}
	}
}

// dispatch starts a delivery of ev to each of its app's webhooks that
// wants it, waiting for a free slot: while every slot is taken the queue
// fills, and Notify drops.
func (n *Notifier) dispatch(ev slipway.WebhookEvent) {
	if n.ctx.Err() != nil {
		n.dropped.Add(1) // past Shutdown's deadline: what is left is dropped
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	hooks, err := n.cfg.Store.ListWebhooks(ctx, ev.App)
	cancel()
	if slipway.ErrorCode(err) == slipway.ENOTFOUND {
		return // destroyed meanwhile
	}
	if err != nil {
		n.logger.Error("webhooks: read the app's webhooks", "app", ev.App, "event", ev.Event, "err", err)
		return
	}
	var body []byte
	for _, h := range hooks {
		if !h.Wants(ev.Event) {
			continue
		}
		if body == nil {
			if body, err = json.Marshal(ev); err != nil {
				n.logger.Error("webhooks: encode the event", "app", ev.App, "event", ev.Event, "err", err)
				return
			}
		}
		if !n.take(ev.App) {
			n.drop(ev, "the app's webhooks have "+strconv.Itoa(PerApp)+" deliveries running")
			continue
		}
		select {
		case n.sem <- struct{}{}:
		case <-n.ctx.Done():
			n.release(ev.App)
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer n.release(ev.App)
			defer func() { <-n.sem }()
			n.deliver(h, ev, body)
		}()
	}
}

// take counts a delivery of app as running, unless PerApp are.
func (n *Notifier) take(app string) bool {
	n.busyMu.Lock()
	defer n.busyMu.Unlock()
	if n.busy[app] >= PerApp {
		return false
	}
	n.busy[app]++
	return true
}

// release counts a delivery of app as ended.
func (n *Notifier) release(app string) {
	n.busyMu.Lock()
	defer n.busyMu.Unlock()
	if n.busy[app]--; n.busy[app] <= 0 {
		delete(n.busy, app)
	}
}
