package registry

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// dataFiles lists the blobs and uploads that hold data under root.
func dataFiles(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "data" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestRegistry_RefusesABlobOverMaxImageSize(t *testing.T) {
	for _, c := range []struct {
		name string
		tr   func(r *testRegistry) (string, remote.Option)
	}{
		{"http", func(r *testRegistry) (string, remote.Option) { return r.host, remote.WithAuth(pusher) }},
		{"in-process", func(r *testRegistry) (string, remote.Option) {
			return "slipway.internal", remote.WithTransport(r.Transport())
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newTestRegistry(t, Config{MaxImageSize: 1 << 20})
			host, opt := c.tr(r)
			repo, err := name.NewRepository(host+"/app", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			err = remote.WriteLayer(repo, randomLayer(t, 1<<20+1, 14), opt, remote.WithContext(ctxT(t)))
			if err == nil || !strings.Contains(err.Error(), "larger than the registry's limit of 1 MiB") {
				t.Fatalf("push of a layer over the limit: %v", err)
			}
			if files := dataFiles(t, r.Root()); len(files) > 0 {
				t.Errorf("the refused upload left %q", files)
			}
			// Exactly the limit passes.
			if err := push(t, host+"/app:v1", imageOf(t, randomLayer(t, 1<<20-400, 15)), opt); err != nil {
				t.Errorf("push of a layer under the limit: %v", err)
			}
		})
	}
}

// A client that sends the blob in chunks is held to the limit over the
// whole upload, and one that announces a too large body is refused before
// it sends it.
func TestRegistry_CountsAnUploadsChunksAgainstTheLimit(t *testing.T) {
	r := newTestRegistry(t, Config{MaxImageSize: 1000})
	send := func(method, url string, body []byte, length bool) *http.Response {
		req, err := http.NewRequestWithContext(ctxT(t), method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if !length {
			req.ContentLength = -1 // chunked
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		req.SetBasicAuth("slipway", pushToken)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, length := range []bool{true, false} {
		resp := send(http.MethodPost, r.srv.URL+"/v2/app/blobs/uploads/", nil, true)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("start upload: %s", resp.Status)
		}
		loc := r.srv.URL + resp.Header.Get("Location")
		resp = send(http.MethodPatch, loc, make([]byte, 600), length)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("first chunk: %s", resp.Status)
		}
		loc = r.srv.URL + resp.Header.Get("Location")
		if resp := send(http.MethodPatch, loc, make([]byte, 600), length); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("second chunk (content length %v): %s, want 413", length, resp.Status)
		}
		if files := dataFiles(t, r.Root()); len(files) > 0 {
			t.Errorf("the refused upload left %q", files)
		}
	}

	// An upload its client abandoned goes at the next GC.
	resp := send(http.MethodPost, r.srv.URL+"/v2/app/blobs/uploads/", nil, true)
	if resp := send(http.MethodPatch, r.srv.URL+resp.Header.Get("Location"), make([]byte, 600), true); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("chunk: %s", resp.Status)
	}
	r.cfg.GCGrace = -1
	if _, err := r.GC(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := dataFiles(t, r.Root()); len(files) > 0 {
		t.Errorf("GC left the abandoned upload %q", files)
	}
}

func TestRegistry_RefusesAnImageOverMaxImageSize(t *testing.T) {
	r := newTestRegistry(t, Config{MaxImageSize: 1 << 20, GCGrace: -1})
	// Each layer fits, together they do not.
	img := imageOf(t, randomLayer(t, 600<<10, 16), randomLayer(t, 600<<10, 17))
	err := push(t, "slipway.internal/app:v1", img, remote.WithTransport(r.Transport()))
	if err == nil || !strings.Contains(err.Error(), "image app:v1 is 1.172 MiB, over the registry's limit of 1 MiB") {
		t.Fatalf("push of an image over the limit: %v", err)
	}
	if tags, _ := r.Tags(ctxT(t), "app"); len(tags) > 0 {
		t.Errorf("tags after the refused push: %q", tags)
	}
	// Its layers, uploaded before the manifest, go at the next GC.
	if _, err := r.GC(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if files := dataFiles(t, r.Root()); len(files) > 0 {
		t.Errorf("after GC, the refused image left %q", files)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		512: "512 B", 1 << 10: "1 KiB", 1 << 20: "1 MiB", 4 << 30: "4 GiB", 1536 << 20: "1.5 GiB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
