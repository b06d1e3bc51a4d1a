package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/slipway/slipway"
)

// LetsEncrypt is the default ACME directory: Let's Encrypt's production
// one.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config configures a Manager.
type Config struct {
	// Dir keeps the certificates, keys and the ACME account (mode 0700).
	Dir string
	// Email is the ACME account's contact; empty turns automatic
	// certificates off.
	Email string
	// Directory is the ACME server's directory URL (LetsEncrypt when
	// empty).
	Directory string
	// CAFile, when set, is a PEM file of CAs to trust for the ACME server
	// itself (a private or test ACME server).
	CAFile string
	// Owns reports whether an app owns name exactly (never through a
	// wildcard, which would need DNS-01): only such names get automatic
	// certificates, so that no handshake for another name makes slipway
	// ask the ACME server for anything.
	Owns func(name string) bool
	// HTTPAddr and HTTPSAddr are the bound addresses of slipway's HTTP and
	// HTTPS listeners, which answer the challenges: the ACME library then
	// never listens itself.
	HTTPAddr, HTTPSAddr string
	// OnResult, when set, hears of every issuance and renewal (metrics).
	OnResult func(ok, renewal bool)
	Logger   *slog.Logger
}

// Manager holds the certificates of the apps' names.
type Manager struct {
	cfg    Config
	cache  *certmagic.Cache
	magic  *certmagic.Config
	acme   *certmagic.ACMEIssuer // nil when automatic certificates are off
	logger *slog.Logger
	https  string // the HTTPS port redirects name, "" for 443

	mu       sync.Mutex
	manual   map[string]string // app → the cache hash of its own certificate
	failures map[string]string // domain → why its last issuance or renewal failed
}

// New returns a Manager for cfg; Close stops its background work.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate dir: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate dir: %w", err)
	}
	m := &Manager{cfg: cfg, logger: cfg.Logger.With("component", "certs"),
		manual: map[string]string{}, failures: map[string]string{}}
	if _, port, err := net.SplitHostPort(cfg.HTTPSAddr); err == nil && port != "443" {
		m.https = port
	}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zap.NewNop(),
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: cfg.Dir},
		Logger:  zap.NewNop(),
		OnEvent: m.event,
	})
	if cfg.Email != "" {
		if err := m.setupACME(); err != nil {
			m.cache.Stop()
			return nil, err
		}
	}
	m.loadManual()
	return m, nil
}

// setupACME turns on automatic certificates.
func (m *Manager) setupACME() error {
	cfg := m.cfg
	dir := cfg.Directory
	if dir == "" {
		dir = LetsEncrypt
	}
	tmpl := certmagic.ACMEIssuer{CA: dir, Email: cfg.Email, Agreed: true, Logger: zap.NewNop()}
	if cfg.CAFile != "" {
		data, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("--acme-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return fmt.Errorf("--acme-ca %s holds no PEM certificate", cfg.CAFile)
		}
		tmpl.TrustedRoots = pool
	}
	// The challenges are answered through slipway's own listeners: told
	// their host and port, the library finds them taken and does not
	// listen itself.
	host, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP address %q: %w", cfg.HTTPAddr, err)
	}
	tmpl.ListenHost = host
	tmpl.AltHTTPPort, _ = strconv.Atoi(port)
	if cfg.HTTPSAddr == "" {
		tmpl.DisableTLSALPNChallenge = true
	} else if _, tport, err := net.SplitHostPort(cfg.HTTPSAddr); err == nil {
		tmpl.AltTLSALPNPort, _ = strconv.Atoi(tport)
	}
	m.acme = certmagic.NewACMEIssuer(m.magic, tmpl)
	m.magic.Issuers = []certmagic.Issuer{m.acme}
	m.magic.OnDemand = &certmagic.OnDemandConfig{DecisionFunc: m.decide}
	return nil
}

// Close stops the renewals and the cache's maintenance.
func (m *Manager) Close() { m.cache.Stop() }

// Automatic reports whether names get certificates from an ACME server.
func (m *Manager) Automatic() bool { return m.acme != nil }

// errNotOwned refuses a handshake for a name no app owns.
var errNotOwned = errors.New("no app owns this name")

// decide allows an on-demand certificate only for a name an app owns.
func (m *Manager) decide(_ context.Context, name string) error {
	if m.cfg.Owns != nil && m.cfg.Owns(name) {
		return nil
	}
	return errNotOwned
}

// TLSConfig is the configuration of the HTTPS listener: certificates by
// SNI, HTTP/2 and HTTP/1.1 by ALPN, and the TLS-ALPN-01 answers.
func (m *Manager) TLSConfig() *tls.Config {
	c := m.magic.TLSConfig()
	c.NextProtos = append([]string{"h2", "http/1.1"}, c.NextProtos...)
	c.MinVersion = tls.VersionTLS12
	return c
}

// Obtain gets certificates for names in the background, when automatic
// certificates are on: a domain just added is ready before its first
// visitor.
func (m *Manager) Obtain(names []string) {
	if m.acme == nil {
		return
	}
	var exact []string
	for _, n := range names {
		if !strings.HasPrefix(n, "*.") {
			exact = append(exact, n)
		}
	}
	if len(exact) == 0 {
		return
	}
	if err := m.magic.ManageAsync(context.Background(), exact); err != nil {
		m.logger.Error("certificate", "domains", strings.Join(exact, ","), "err", err)
	}
}

// HasCertificate reports whether a certificate for name is at hand.
func (m *Manager) HasCertificate(name string) bool {
	return len(m.cache.AllMatchingCertificates(strings.ToLower(name))) > 0
}

// HTTPHandler answers ACME HTTP-01 challenges on the plain-HTTP listener,
// redirects to HTTPS the requests for a name that has a certificate when
// redirect(host) says so, and passes the rest to next.
func (m *Manager) HTTPHandler(next http.Handler, redirect func(host string) bool) http.Handler {
	return &httpFront{m: m, next: next, redirect: redirect}
}

// httpFront is the handler HTTPHandler returns.
type httpFront struct {
	m        *Manager
	next     http.Handler
	redirect func(host string) bool
}

func (f *httpFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := f.m
	if m.acme != nil && m.acme.HandleHTTPChallenge(w, r) {
		return
	}
	if host, ok := f.redirects(r.Host); ok {
		target := "https://" + host
		if m.https != "" {
			target += ":" + m.https
		}
		code := http.StatusPermanentRedirect // 308 keeps the method and body
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), code)
		return
	}
	f.next.ServeHTTP(w, r)
}

// Intercepts reports whether the front may answer a request for host
// and target itself (an ACME challenge, a redirect to HTTPS), for a server
// that hands every other request straight to the handler it wraps (see
// Unwrap). A challenge's path starts with /.well-known/ (certmagic
// compares the unescaped path): any target that might be one counts.
func (f *httpFront) Intercepts(host, target string) bool {
	if len(target) > 1 && (target[1] == '.' || target[1] == '%') {
		return true
	}
	_, redirected := f.redirects(host)
	return redirected
}

// Unwrap returns the handler the front passes requests on to.
func (f *httpFront) Unwrap() http.Handler { return f.next }

// redirects returns the host of a request's Host header and whether the
// request is redirected to HTTPS.
func (f *httpFront) redirects(host string) (string, bool) {
	if strings.IndexByte(host, ':') >= 0 { // SplitHostPort allocates its error for a host without a port
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	// redirect (an atomic load and two map lookups) before the
	// certificate cache, which locks and builds wildcard names.
	return host, f.m.cfg.HTTPSAddr != "" && (f.redirect == nil || f.redirect(host)) && f.m.HasCertificate(host)
}

// event logs what happens to certificates, with the ACME server's reason
// when one fails.
func (m *Manager) event(_ context.Context, event string, data map[string]any) error {
	domain, _ := data["identifier"].(string)
	renewal, _ := data["renewal"].(bool)
	if m.cfg.OnResult != nil && (event == "cert_obtained" || event == "cert_failed") {
		m.cfg.OnResult(event == "cert_obtained", renewal)
	}
	switch event {
	case "cert_obtained":
		m.mu.Lock()
		delete(m.failures, domain)
		m.mu.Unlock()
		m.logger.Info("certificate obtained", "domain", domain, "renewal", data["renewal"], "issuer", data["issuer"])
	case "cert_failed":
		reason := fmt.Sprint(data["error"])
		m.mu.Lock()
		m.failures[domain] = slipway.OneLine(reason, 300)
		m.mu.Unlock()
		m.logger.Error("certificate failed", "domain", domain, "renewal", data["renewal"], "err", reason)
	case "cert_ocsp_revoked":
		m.logger.Warn("certificate revoked", "domain", data["identifier"])
	}
	return nil
}

// PublicDomain reports whether d could be a public DNS name, so that its
// NAME.d names may get certificates from a public ACME server: not
// localhost, not a reserved or private-use top-level domain.
func PublicDomain(d string) bool {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	i := strings.LastIndexByte(d, '.')
	if i < 0 {
		return false
	}
	switch d[i+1:] {
	case "localhost", "test", "local", "internal", "invalid", "example", "lan", "home", "arpa", "corp":
		return false
	}
	return net.ParseIP(d) == nil
}
