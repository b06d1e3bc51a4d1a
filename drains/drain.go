package drains

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway"
)

// Batches: a sender takes at most this many lines, or about this many
// bytes of them, at once; an HTTPS drain waits up to Config.BatchWait
// for a batch to fill.
const (
	batchLines = 500
	batchBytes = 1 << 20
)

// sender delivers batches to one drain, over a connection it keeps.
type sender interface {
	// send delivers b, whole, or returns why not; ctx ends it early.
	send(ctx context.Context, b *batch) error
	// close drops the connection.
	close()
}

// batch is lines on their way, sent again as they were until delivered.
type batch struct {
	lines [][]byte
	id    string // Logplex-Frame-Id: the same on every attempt
}

// drain is one of an app's drains: its buffer and the goroutine that
// empties it into the sender.
type drain struct {
	app, url, id string
	buf          *buffer
	send         sender
	cfg          *Config
	logger       *slog.Logger

	sent atomic.Uint64

	mu      sync.Mutex
	state   string
	since   time.Time
	lastErr string

	flush  chan struct{}   // closed: deliver what is left, then stop
	ctx    context.Context // ends every attempt: the drain is gone
	cancel context.CancelFunc
}

func newDrain(cfg *Config, host, app string, u *url.URL, logger *slog.Logger) *drain {
	raw := u.String()
	d := &drain{app: app, url: raw, id: slipway.LogDrainID(cfg.IDKey, raw), cfg: cfg,
		buf:   newBuffer(cfg.MaxLines, cfg.MaxBytes),
		state: slipway.DrainConnecting, since: cfg.Now(),
		flush: make(chan struct{})}
	d.logger = logger.With("app", app, "drain", d.id)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	h := newHeader(host, app)
	if u.Scheme == "https" {
		d.send = newHTTPSSender(cfg, u, h)
	} else {
		d.send = newSyslogSender(cfg, u, h)
	}
	return d
}

// run delivers the buffer's lines until the drain's context ends (it was
// removed, or the stop's bound passed), or after flush once the buffer is
// empty.
func (d *drain) run() {
	defer d.send.close()
	var b *batch
	var retry backoff
	for {
		if b == nil {
			if !d.await() {
				return
			}
			b = &batch{lines: d.buf.peek(batchLines, batchBytes), id: frameID()}
			if len(b.lines) == 0 { // the drain was removed meanwhile
				b = nil
				continue
			}
		}
		err := d.send.send(d.ctx, b)
		if d.ctx.Err() != nil {
			return
		}
		if err != nil {
			d.failed(err)
			// At a stop, a drain that fails is not waited for: it would
			// hold up the stop until its bound, for lines it would not
			// deliver anyway.
			select {
			case <-time.After(retry.next(d.cfg.MinBackoff, d.cfg.MaxBackoff)):
			case <-d.flush:
				return
			case <-d.ctx.Done():
				return
			}
			continue
		}
		d.buf.done(len(b.lines))
		d.sent.Add(uint64(len(b.lines)))
		d.delivered()
		retry.reset()
		b = nil
	}
}

// await waits until there are lines to send, and for an HTTPS drain until
// a batch is full or BatchWait has passed (a batch that failed is retried
// as it was, without it). It reports false when the drain is to stop:
// stopped, or flushed and empty.
func (d *drain) await() bool {
	for {
		if n, _ := d.buf.len(); n > 0 {
			break
		}
		select {
		case <-d.buf.wake:
		case <-d.flush:
			if n, _ := d.buf.len(); n == 0 {
				return false
			}
		case <-d.ctx.Done():
			return false
		}
	}
	if _, ok := d.send.(*httpsSender); !ok {
		return true
	}
	timer := time.NewTimer(d.cfg.BatchWait)
	defer timer.Stop()
	for {
		if n, size := d.buf.len(); n >= batchLines || size >= batchBytes {
			return true
		}
		select {
		case <-d.buf.wake:
		case <-timer.C:
			return true
		case <-d.flush:
			return true
		case <-d.ctx.Done():
			return false
		}
	}
}

// failed records a failed delivery: the first of a run is logged.
func (d *drain) failed(err error) {
	msg := slipway.OneLine(err.Error(), 200)
	d.mu.Lock()
	first := d.state != slipway.DrainRetrying
	if first {
		d.state, d.since = slipway.DrainRetrying, d.cfg.Now()
	}
	d.lastErr = msg
	d.mu.Unlock()
	if first {
		d.logger.Warn("log drain failing: retrying with backoff", "err", msg)
	}
}

// delivered records a delivery that worked.
func (d *drain) delivered() {
	d.mu.Lock()
	was := d.state
	if was != slipway.DrainConnected {
		d.state, d.since, d.lastErr = slipway.DrainConnected, d.cfg.Now(), ""
	}
	d.mu.Unlock()
	if was == slipway.DrainRetrying {
		d.logger.Info("log drain delivers again")
	}
}

// status is how the drain stands, its URL masked.
func (d *drain) status() slipway.LogDrain {
	n, _ := d.buf.len()
	d.mu.Lock()
	defer d.mu.Unlock()
	return slipway.LogDrain{App: d.app, ID: d.id, URL: slipway.MaskLogDrainURL(d.url), State: d.state, Since: d.since,
		LastError: d.lastErr, Sent: d.sent.Load(), Dropped: d.buf.dropped.Load(), Queued: n}
}

// frameID is a new batch's Logplex-Frame-Id.
func frameID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
