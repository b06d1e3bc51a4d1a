package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/atomicfile"
)

// maxBundle bounds a PEM bundle certs:add reads.
const maxBundle = 1 << 20

// ParseBundle reads a certificate chain and its private key, PEM blocks in
// any order, given for an app whose names are domains, and checks them at
// now: the key must match the first certificate (the leaf), the leaf must
// be valid now and cover at least one of domains. It returns the chain and
// the key as PEM, and the leaf.
func ParseBundle(data []byte, domains []string, now time.Time) (chainPEM, keyPEM []byte, leaf *x509.Certificate, err error) {
	if len(data) > maxBundle {
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the bundle is over %d bytes: send one certificate chain and its key", maxBundle)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			chainPEM = append(chainPEM, pem.EncodeToMemory(b)...)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if keyPEM != nil {
				return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the bundle has two private keys: send one, the certificate's")
			}
			keyPEM = pem.EncodeToMemory(b)
		}
	}
	if chainPEM == nil {
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "no PEM certificate in the input: send the chain and its key, as in certs:add NAME < bundle.pem")
	}
	if keyPEM == nil {
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "no private key in the input: put the certificate's key (PEM) after the chain")
	}
	pair, err := tls.X509KeyPair(chainPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the private key does not match the certificate: send the key the certificate was issued for")
		}
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the certificate or its key cannot be read: %s", slipway.OneLine(err.Error(), 200))
	}
	leaf = pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the certificate cannot be read: %s", slipway.OneLine(err.Error(), 200))
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the certificate expired on %s: renew it first", leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the certificate is not valid until %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if !slices.ContainsFunc(domains, func(d string) bool { return covers(leaf, d) }) {
		names := leaf.DNSNames
		if len(names) == 0 {
			names = []string{leaf.Subject.CommonName}
		}
		return nil, nil, nil, slipway.Errorf(slipway.EINVALID, "the certificate covers none of the app's domains (%s): it is for %s",
			strings.Join(domains, ", "), slipway.OneLine(strings.Join(names, ", "), 200))
	}
	return chainPEM, keyPEM, leaf, nil
}

// covers reports whether leaf is good for domain: a wildcard domain takes a
// certificate for that very wildcard.
func covers(leaf *x509.Certificate, domain string) bool {
	if slipway.IsWildcard(domain) {
		return slices.Contains(leaf.DNSNames, domain)
	}
	return leaf.VerifyHostname(domain) == nil
}

// manualPath is where app's own certificate is kept.
func (m *Manager) manualPath(app string) string {
	return filepath.Join(m.cfg.Dir, "manual", app+".pem")
}

// AddManual checks bundle (ParseBundle) for app, whose names are domains,
// keeps it in DATA/certs/manual/APP.pem (mode 0600) and serves it at once
// for the names it covers, before any automatic certificate.
func (m *Manager) AddManual(app string, bundle []byte, domains []string) (*x509.Certificate, error) {
	chain, key, leaf, err := ParseBundle(bundle, domains, time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(m.manualPath(app)), 0o700); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(m.manualPath(app), append(chain, key...), 0o600); err != nil {
		return nil, err
	}
	if err := m.cacheManual(app, chain, key); err != nil {
		return nil, err
	}
	m.logger.Info("manual certificate added", "app", app, "names", strings.Join(leaf.DNSNames, ","), "expires", leaf.NotAfter.UTC().Format(time.RFC3339))
	return leaf, nil
}

// cacheManual serves app's own certificate in place of the one it had.
func (m *Manager) cacheManual(app string, chain, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hash, err := m.magic.CacheUnmanagedCertificatePEMBytes(context.Background(), chain, key, []string{manualTag, app})
	if err != nil {
		return fmt.Errorf("serve the certificate: %w", err)
	}
	if old, ok := m.manual[app]; ok && old != hash {
		m.cache.Remove([]string{old})
	}
	m.manual[app] = hash
	return nil
}

// manualTag marks the certificates apps brought.
const manualTag = "slipway-manual"

// RemoveManual drops app's own certificate; automatic ones take over where
// they are on. ENOTFOUND when it has none.
func (m *Manager) RemoveManual(app string) error {
	if err := os.Remove(m.manualPath(app)); errors.Is(err, os.ErrNotExist) {
		return slipway.Errorf(slipway.ENOTFOUND, "%s has no certificate of its own (certs:add %s < bundle.pem adds one)", app, app)
	} else if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if hash, ok := m.manual[app]; ok {
		m.cache.Remove([]string{hash})
		delete(m.manual, app)
	}
	m.logger.Info("manual certificate removed", "app", app)
	return nil
}

// RenameManual moves app old's own certificate, if it has one, to app
// new (apps:rename).
func (m *Manager) RenameManual(old, new string) error {
	if err := os.Rename(m.manualPath(old), m.manualPath(new)); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if hash, ok := m.manual[old]; ok {
		delete(m.manual, old)
		m.manual[new] = hash
	}
	return nil
}

// loadManual serves the certificates apps brought, at start.
func (m *Manager) loadManual() {
	files, _ := filepath.Glob(filepath.Join(m.cfg.Dir, "manual", "*.pem"))
	for _, f := range files {
		app := strings.TrimSuffix(filepath.Base(f), ".pem")
		data, err := os.ReadFile(f)
		if err != nil {
			m.logger.Error("read a manual certificate", "app", app, "err", err)
			continue
		}
		var chain, key []byte
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				chain = append(chain, pem.EncodeToMemory(b)...)
			} else {
				key = pem.EncodeToMemory(b)
			}
		}
		if err := m.cacheManual(app, chain, key); err != nil {
			m.logger.Error("serve a manual certificate", "app", app, "err", err)
		}
	}
}

// Status is a domain's certificate (slipway.CertStatus).
type Status = slipway.CertStatus

// Status returns the certificate of each of domains.
func (m *Manager) Status(domains []string) []Status {
	var out []Status
	for _, d := range domains {
		st := Status{Domain: d}
		lookup := d
		if slipway.IsWildcard(d) {
			lookup = "x" + strings.TrimPrefix(d, "*") // a name the wildcard covers
		}
		certs := m.cache.AllMatchingCertificates(lookup)
		m.mu.Lock()
		failure := m.failures[d]
		m.mu.Unlock()
		if len(certs) == 0 {
			switch {
			case failure != "":
				st.State = "failed: " + failure
			case slipway.IsWildcard(d):
				st.State = "none: a wildcard needs a certificate of your own (certs:add), automatic ones need DNS-01"
			case m.acme != nil && m.cfg.Owns != nil && m.cfg.Owns(d):
				st.State = "none yet: issued at the first HTTPS visit"
			default:
				st.State = "none"
			}
			out = append(out, st)
			continue
		}
		c := certs[0]
		for _, other := range certs { // an app's own certificate comes first
			if other.HasTag(manualTag) {
				c = other
				break
			}
		}
		st.Source = "auto"
		if c.HasTag(manualTag) {
			st.Source = "manual"
		}
		if leaf := c.Leaf; leaf != nil {
			st.Issuer = leaf.Issuer.CommonName
			st.Expires = leaf.NotAfter
		}
		switch {
		case c.Expired():
			st.State = "expired"
		case failure != "":
			st.State = "failed: " + failure
		case st.Source == "auto" && c.NeedsRenewal(m.magic):
			st.State = "renewing"
		default:
			st.State = "valid"
		}
		out = append(out, st)
	}
	return out
}
