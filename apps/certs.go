package apps

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/certs"
)

// Certs is what the application layer needs of the TLS edge (package
// certs).
type Certs interface {
	// Obtain gets certificates for domains in the background.
	Obtain(domains []string)
	// AddManual checks and keeps app's own certificate, for its domains.
	AddManual(app string, bundle []byte, domains []string) (*x509.Certificate, error)
	// RemoveManual drops app's own certificate.
	RemoveManual(app string) error
	// RenameManual moves app old's own certificate to app new.
	RenameManual(old, new string) error
	// Status returns where each domain's certificate comes from.
	Status(domains []string) []certs.Status
}

// errNoTLS is the answer of the certificate use cases when slipway has no
// TLS edge.
var errNoTLS = slipway.Errorf(slipway.EINVALID, "slipway serves no HTTPS: start it with --https-addr")

// Certificates returns each of the app's domains with its certificate.
func (s *Service) Certificates(ctx context.Context, app string) ([]certs.Status, error) {
	if s.cfg.Certs == nil {
		return nil, errNoTLS
	}
	domains, err := s.Domains(ctx, app)
	if err != nil {
		return nil, err
	}
	return s.cfg.Certs.Status(domains), nil
}

// AddCertificate gives the app a certificate of its own: a PEM chain and
// its key, refused with the reason when the key does not match, the
// certificate is not valid now or covers none of the app's domains. It is
// served at once, before any automatic one.
func (s *Service) AddCertificate(ctx context.Context, app string, bundle io.Reader, out io.Writer) error {
	if s.cfg.Certs == nil {
		return errNoTLS
	}
	data, err := io.ReadAll(io.LimitReader(bundle, 1<<20+1))
	if err != nil {
		return err
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	domains, err := s.Domains(ctx, app)
	if err != nil {
		return err
	}
	leaf, err := s.cfg.Certs.AddManual(app, data, domains)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Added a certificate to %s for %s, issued by %s, expiring %s\n", app,
		slipway.OneLine(strings.Join(leaf.DNSNames, ", "), 200), slipway.OneLine(leaf.Issuer.CommonName, 80), leaf.NotAfter.UTC().Format(time.DateOnly))
	return nil
}

// RemoveCertificate drops the app's own certificate; automatic ones take
// over where they are on.
func (s *Service) RemoveCertificate(ctx context.Context, app string, out io.Writer) error {
	if s.cfg.Certs == nil {
		return errNoTLS
	}
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.cfg.Certs.RemoveManual(app); err != nil {
		return err
	}
	fmt.Fprintf(out, "Removed the certificate of %s\n", app)
	return nil
}

// Redirects reports whether plain-HTTP requests for app's names that have
// a certificate are redirected to HTTPS (the default; certs:redirect NAME
// off turns it off).
func (s *Service) Redirects(app string) bool {
	m := s.noRedirect.Load()
	return m == nil || !(*m)[app]
}

// SetRedirect turns the redirect to HTTPS of the app's plain-HTTP
// requests on or off.
func (s *Service) SetRedirect(ctx context.Context, app string, on bool, out io.Writer) error {
	unlock, err := s.acquire(ctx, app, out)
	if err != nil {
		return err
	}
	defer unlock()
	value := "off"
	if on {
		value = ""
	}
	if err := s.store.SetAppSetting(ctx, app, slipway.SettingRedirect, value); err != nil {
		return err
	}
	s.setRedirect(app, on)
	if on {
		fmt.Fprintf(out, "Plain HTTP to %s is redirected to HTTPS where it has a certificate\n", app)
	} else {
		fmt.Fprintf(out, "Plain HTTP to %s is served as it is, not redirected\n", app)
	}
	return nil
}

// setRedirect records app's redirect setting for the router.
func (s *Service) setRedirect(app string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]bool{}
	if old := s.noRedirect.Load(); old != nil {
		next = maps.Clone(*old)
	}
	if on {
		delete(next, app)
	} else {
		next[app] = true
	}
	s.noRedirect.Store(&next)
}

// restoreRedirects loads the apps' redirect settings, at start.
func (s *Service) restoreRedirects(ctx context.Context) {
	all, err := s.store.AllAppSettings(ctx, slipway.SettingRedirect)
	if err != nil {
		s.logger.Error("read redirect settings", "err", err)
		return
	}
	for app, v := range all {
		s.setRedirect(app, v != "off")
	}
}
