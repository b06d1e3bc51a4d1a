package drains

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway/slipway"
)

// Timeouts of a connection to a drain.
const (
	DefaultDialTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultBatchWait    = time.Second
)

// Config configures a Manager. Zero fields take their defaults.
type Config struct {
	// Hostname is the HOSTNAME of the messages; os.Hostname when empty.
	Hostname string
	// MaxLines and MaxBytes bound each drain's buffer (DefaultMaxLines,
	// DefaultMaxBytes).
	MaxLines, MaxBytes int
	// RootCAs verifies the drains' TLS certificates; nil is the system's
	// roots (SSL_CERT_FILE and SSL_CERT_DIR are honoured).
	RootCAs *x509.CertPool
	// DialTimeout bounds a connection and its TLS handshake; WriteTimeout
	// a write, or an HTTPS drain's answer.
	DialTimeout, WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries.
	MinBackoff, MaxBackoff time.Duration
	// BatchWait is how long an HTTPS drain waits for a batch to fill.
	BatchWait time.Duration
	// IDKey keys the drains' ids (slipway.LogDrainID), as /metrics and the
	// log name them; nil is an empty key, for tests. slipway serve gives
	// slipway.LogDrainIDKey of its affinity key, and the same to apps.
	IDKey []byte
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger // slog.Default when nil
}

// Manager sends every app's log lines to the app's drains. Set says
// which; LogLine (the apps' log sink) hears the lines. Its methods are
// safe for concurrent use.
type Manager struct {
	cfg    Config
	host   string
	logger *slog.Logger

	// drains is every app's drains, replaced whole on a change, so that
	// a line costs an atomic load and a map lookup.
	drains atomic.Pointer[map[string][]*drain]

	mu      sync.Mutex // changes of drains, started and stopped
	started bool
	stopped bool
	running sync.WaitGroup // the drains' goroutines
}

// New returns a Manager for cfg, with no drains; Start starts sending.
func New(cfg Config) *Manager {
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host := cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	m := &Manager{cfg: cfg, host: host, logger: cfg.Logger.With("component", "drains")}
	m.drains.Store(&map[string][]*drain{})
	return m
}

// LogLine copies line into the buffer of each of app's drains
// (supervisor.LogSink). It never waits: a full buffer drops the line.
func (m *Manager) LogLine(app string, line []byte) {
	for _, d := range (*m.drains.Load())[app] {
		d.buf.push(line)
	}
}

// Start starts delivering, to the drains Set so far and to those Set
// later.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return nil
	}
	m.started = true
	for _, ds := range *m.drains.Load() {
		for _, d := range ds {
			m.run(d)
		}
	}
	return nil
}

// run starts d's goroutine. The caller holds m.mu.
func (m *Manager) run(d *drain) {
	m.running.Go(d.run)
}

// Set makes urls app's drains, in that order: a drain it had already keeps
// its buffer and counts, one no longer among urls stops at once, its
// buffered lines dropped. No urls: the app has none. A URL that
// slipway.ParseLogDrainURL refuses is logged and skipped.
func (m *Manager) Set(app string, urls []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	old := *m.drains.Load()
	var ds []*drain
	for _, raw := range urls {
		u, err := slipway.ParseLogDrainURL(raw)
		if err != nil {
			m.logger.Error("a stored log drain is not valid: skipped", "app", app, "drain", slipway.LogDrainID(m.cfg.IDKey, raw), "err", err)
			continue
		}
		i := slices.IndexFunc(old[app], func(d *drain) bool { return d.url == u.String() })
		if i >= 0 {
			ds = append(ds, old[app][i])
			continue
		}
		if slices.ContainsFunc(ds, func(d *drain) bool { return d.url == u.String() }) {
			continue
		}
		d := newDrain(&m.cfg, m.host, app, u, m.logger)
		ds = append(ds, d)
		if m.started {
			m.run(d)
		}
	}
	next := make(map[string][]*drain, len(old)+1)
	for a, list := range old {
		next[a] = list
	}
	if len(ds) > 0 {
		next[app] = ds
	} else {
		delete(next, app)
	}
	m.drains.Store(&next)
	for _, d := range old[app] {
		if !slices.Contains(ds, d) {
			d.buf.close()
			d.cancel()
		}
	}
}

// Status returns how app's drains stand, in their order, their URLs
// masked.
func (m *Manager) Status(app string) []slipway.LogDrain {
	ds := (*m.drains.Load())[app]
	out := make([]slipway.LogDrain, len(ds))
	for i, d := range ds {
		out[i] = d.status()
	}
	return out
}

// All returns how every app's drains stand, for /metrics.
func (m *Manager) All() []slipway.LogDrain {
	var out []slipway.LogDrain
	for _, ds := range *m.drains.Load() {
		for _, d := range ds {
			out = append(out, d.status())
		}
	}
	return out
}

// Shutdown stops taking lines and delivers those buffered until ctx is
// done, when what is left is dropped; a drain that fails meanwhile is
// given up at once. It returns an error saying how many
// lines were not delivered.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil
	}
	m.stopped = true
	all := *m.drains.Load()
	m.drains.Store(&map[string][]*drain{})
	m.mu.Unlock()
	for _, ds := range all {
		for _, d := range ds {
			close(d.flush)
		}
	}
	flushed := make(chan struct{})
	go func() {
		m.running.Wait()
		close(flushed)
	}()
	select {
	case <-flushed:
	case <-ctx.Done():
	}
	left := 0
	for _, ds := range all {
		for _, d := range ds {
			n, _ := d.buf.len()
			left += n
			d.buf.close()
			d.cancel() // every attempt ends: the goroutines return at once
		}
	}
	<-flushed
	if left > 0 {
		m.logger.Warn("log lines not delivered to their drains at stop", "lines", left)
		return fmt.Errorf("%d log lines not delivered to their drains at stop", left)
	}
	return nil
}
