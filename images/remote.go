package images

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors from Push and Pull, for errors.Is.
var (
	ErrNotFound     = errors.New("no such image")
	ErrUnauthorized = errors.New("credentials refused")
	ErrUnreachable  = errors.New("cannot reach the registry")
)

// Push uploads img to the registry as ref (HOST[:PORT]/NAME:TAG), sending
// only the layers the registry lacks. A nil rt is
// remote.DefaultTransport; a nil auth is anonymous. A registry on a
// loopback address may answer plain HTTP.
func Push(ctx context.Context, img v1.Image, ref string, rt http.RoundTripper, auth authn.Authenticator) error {
	r, err := parseRef(ref)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, remoteOptions(ctx, rt, auth)...); err != nil {
		return remoteError("push", r, err)
	}
	return nil
}

// Pull returns the image ref names in its registry: for an index, the
// one for this machine's platform. Its layers are fetched when read and
// checked against their digests. Errors wrap ErrNotFound,
// ErrUnauthorized or ErrUnreachable where one of them is the cause.
func Pull(ctx context.Context, ref string, rt http.RoundTripper, auth authn.Authenticator) (v1.Image, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	opts := append(remoteOptions(ctx, rt, auth), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, remoteError("pull", r, err)
	}
	return img, nil
}

// parseRef parses ref, which must name its registry: slipway's hosts
// have no Docker Hub to fall back to. A registry on a loopback address
// may speak plain HTTP.
func parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %v: want HOST:PORT/NAME:TAG", ref, err)
	}
	if first, _, slash := strings.Cut(ref, "/"); !slash || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return nil, fmt.Errorf("image reference %q names no registry: want HOST:PORT/NAME:TAG", ref)
	}
	if isLoopback(r.Context().RegistryStr()) {
		r, err = name.ParseReference(ref, name.Insecure)
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func remoteOptions(ctx context.Context, rt http.RoundTripper, auth authn.Authenticator) []remote.Option {
	if auth == nil {
		auth = authn.Anonymous
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	if rt != nil {
		opts = append(opts, remote.WithTransport(rt))
	}
	return opts
}

// remoteError says in one line what failed, with which image and
// registry, and what to do about it.
func remoteError(op string, r name.Reference, err error) error {
	reg := r.Context().RegistryStr()
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s %s: registry %s answered %d, %w: check the token or password for it", op, r, reg, terr.StatusCode, ErrUnauthorized)
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			return fmt.Errorf("%s %s: %w in registry %s: push it there or load it with images:import", op, r, ErrNotFound, reg)
		}
		return fmt.Errorf("%s %s: registry %s answered: %v", op, r, reg, err)
	}
	var cert x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &cert) || errors.As(err, &hostErr) || errors.As(err, &recordErr):
		return fmt.Errorf("%s %s: registry %s: TLS: %v: check its certificate and whether it speaks HTTPS", op, r, reg, err)
	case isNetError(err):
		return fmt.Errorf("%s %s: %w %s: %v: is it running, and is the address right?", op, r, ErrUnreachable, reg, err)
	}
	return fmt.Errorf("%s %s: %v", op, r, err)
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func isNetError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}
