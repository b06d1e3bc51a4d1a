package registry

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	pushToken = "admin-token-0123456789"
	pullToken = "pull-token-abcdefghij"
)

var (
	pusher = &authn.Basic{Username: "slipway", Password: pushToken}
	puller = &authn.Basic{Username: "node1", Password: pullToken}
)

// check grants what the integrator's Check grants: push to slipway with
// the admin token, pull to any user with a pull token.
func check(user, password string) Access {
	if user == "slipway" && subtle.ConstantTimeCompare([]byte(password), []byte(pushToken)) == 1 {
		return Push
	}
	if subtle.ConstantTimeCompare([]byte(password), []byte(pullToken)) == 1 {
		return Pull
	}
	return NoAccess
}

// testRegistry is a registry on a temporary root, served over
// 127.0.0.1.
type testRegistry struct {
	*Registry
	srv  *httptest.Server
	host string
}

func newTestRegistry(t testing.TB, cfg Config) *testRegistry {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir() + "/registry"
	}
	if cfg.Check == nil {
		cfg.Check = check
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &testRegistry{Registry: r, srv: srv, host: strings.TrimPrefix(srv.URL, "http://")}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	must(t, err)
	return r
}

// randomLayer is size random bytes held in memory, so that pushing it
// measures the registry, not compression.
func randomLayer(t testing.TB, size int, seed uint64) v1.Layer {
	t.Helper()
	b := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	_, _ = rng.Read(b)
	return static.NewLayer(b, types.OCILayer)
}

func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	must(t, err)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// must fails the test on a setup error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func digestOf(t testing.TB, img v1.Image) v1.Hash {
	d, err := img.Digest()
	must(t, err)
	return d
}

func push(t testing.TB, to string, img v1.Image, opts ...remote.Option) error {
	t.Helper()
	return remote.Write(ref(t, to), img, append(opts, remote.WithContext(ctxT(t)))...)
}

// pull fetches an image whole, its layers read and checked against their
// digests, and returns its digest.
func pull(t testing.TB, from string, opts ...remote.Option) (v1.Hash, error) {
	t.Helper()
	img, err := remote.Image(ref(t, from), append(opts, remote.WithContext(ctxT(t)))...)
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return img.Digest()
}

// do sends one request to the registry over HTTP, with Basic credentials
// when user is not empty.
func (r *testRegistry) do(t testing.TB, method, path, user, password string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, r.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
