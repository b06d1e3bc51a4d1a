package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// blobOnDisk reports whether the registry stores the blob d.
func (r *testRegistry) blobOnDisk(t testing.TB, d v1.Hash) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(r.Root(), v2Root, "blobs", d.Algorithm, d.Hex[:2], d.Hex, "data"))
	return err == nil
}

func TestRegistry_DeleteAndGCFreeAnUntaggedImageAndKeepASharedLayer(t *testing.T) {
	r := newTestRegistry(t, Config{GCGrace: -1})
	shared, onlyOld, onlyNew := randomLayer(t, 200<<10, 10), randomLayer(t, 300<<10, 11), randomLayer(t, 400<<10, 12)
	old, cur := imageOf(t, shared, onlyOld), imageOf(t, shared, onlyNew)
	tr := remote.WithTransport(r.Transport())
	for tag, img := range map[string]v1.Image{"v1": old, "v2": cur} {
		if err := push(t, "slipway.internal/app:"+tag, img, tr); err != nil {
			t.Fatal(err)
		}
	}
	ctx := ctxT(t)
	if err := r.Delete(ctx, "app", "v1"); err != nil {
		t.Fatal(err)
	}
	if tags, _ := r.Tags(ctx, "app"); !slices.Equal(tags, []string{"v2"}) {
		t.Errorf("tags after Delete: %q", tags)
	}
	if err := r.Delete(ctx, "app", "v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a deleted tag: %v, want ErrNotFound", err)
	}

	freed, err := r.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldManifest, _ := old.RawManifest()
	oldConfig, _ := old.RawConfigFile()
	if want := int64(300<<10 + len(oldManifest) + len(oldConfig)); freed != want {
		t.Errorf("GC freed %d bytes, want %d (the old image's own layer, config and manifest)", freed, want)
	}
	for _, c := range []struct {
		what  string
		blob  func() (v1.Hash, error)
		wants bool
	}{
		{"shared layer", shared.Digest, true},
		{"new image's layer", onlyNew.Digest, true},
		{"old image's own layer", onlyOld.Digest, false},
		{"old image's config", old.ConfigName, false},
	} {
		d, _ := c.blob()
		if got := r.blobOnDisk(t, d); got != c.wants {
			t.Errorf("%s on disk after GC: %v, want %v", c.what, got, c.wants)
		}
	}
	if got, err := pull(t, r.host+"/app:v2", remote.WithAuth(puller)); err != nil || got != digestOf(t, cur) {
		t.Errorf("pull of the kept image after GC: %s, %v", got, err)
	}
	if _, err := pull(t, r.host+"/app@"+digestOf(t, old).String(), remote.WithAuth(puller)); err == nil {
		t.Error("the deleted image still pulls by digest")
	}
	// A second GC has nothing left to free.
	if freed, err := r.GC(ctx); err != nil || freed != 0 {
		t.Errorf("second GC: freed %d, %v", freed, err)
	}
}

func TestRegistry_GCKeepsWhatAPushInProgressWrote(t *testing.T) {
	r := newTestRegistry(t, Config{}) // DefaultGCGrace
	img := imageOf(t, randomLayer(t, 100<<10, 13))
	if err := push(t, "slipway.internal/app:v1", img, remote.WithTransport(r.Transport())); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctxT(t), "app", "v1"); err != nil {
		t.Fatal(err)
	}
	// Just written: it could be the layers of a push whose manifest has
	// not come yet.
	if freed, err := r.GC(ctxT(t)); err != nil || freed != 0 {
		t.Errorf("GC within the grace period freed %d, %v; want 0", freed, err)
	}
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	if !r.blobOnDisk(t, d) {
		t.Error("a layer written within the grace period was removed")
	}
}

func TestRegistry_GCOnAnEmptyRegistry(t *testing.T) {
	r := newTestRegistry(t, Config{GCGrace: -1})
	if freed, err := r.GC(ctxT(t)); err != nil || freed != 0 {
		t.Errorf("GC of an empty registry: %d, %v", freed, err)
	}
	if repos, err := r.Repositories(ctxT(t)); err != nil || len(repos) != 0 {
		t.Errorf("Repositories of an empty registry: %q, %v", repos, err)
	}
}

// GC waits for the writes in flight and they for it, and the grace period
// keeps the layers of pushes whose manifest has not come yet: pushes that
// run alongside collections all land whole.
func TestRegistry_GCAlongsidePushes(t *testing.T) {
	r := newTestRegistry(t, Config{})
	const n = 6
	imgs := make([]v1.Image, n)
	for i := range imgs {
		imgs[i] = imageOf(t, randomLayer(t, 64<<10, uint64(100+i)), randomLayer(t, 32<<10, uint64(200+i)))
	}
	errs := make(chan error, 2*n)
	for i, img := range imgs {
		go func() { errs <- push(t, fmt.Sprintf("%s/app%d:v1", r.host, i), img, remote.WithAuth(pusher)) }()
		go func() {
			_, err := r.GC(ctxT(t))
			errs <- err
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i, img := range imgs {
		if got, err := pull(t, fmt.Sprintf("%s/app%d:v1", r.host, i), remote.WithAuth(puller)); err != nil || got != digestOf(t, img) {
			t.Errorf("app%d: %s, %v", i, got, err)
		}
	}
}
